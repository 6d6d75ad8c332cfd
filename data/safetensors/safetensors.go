// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw little-endian tensor bytes.
// Float tensors (F32, F16, BF16) are widened to float32 on read; integer
// tensors (I32, I64) are read as int64. Sharded checkpoints are read through
// their model.safetensors.index.json.
package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/colbert-go/colbert/data/fsx"
)

// maxHeader bounds the JSON header so that a corrupt length cannot make us
// allocate gigabytes.
const maxHeader = 100 << 20

// Tensor is one named array. Exactly one of F32 or I64 is set.
type Tensor struct {
	DType string // dtype as stored: F32, F16, BF16, I32, I64
	Shape []int
	F32   []float32
	I64   []int64
}

// Len is the number of elements implied by Shape.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is a parsed safetensors file: its tensors and the free-form
// __metadata__ strings.
type File struct {
	Tensors  map[string]*Tensor
	Metadata map[string]string
}

type headerEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// ReadFile parses a whole safetensors file.
func ReadFile(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes safetensors bytes. Every tensor's byte range is checked
// against its dtype and shape and against the buffer.
func Parse(raw []byte) (*File, error) {
	if len(raw) < 8 {
		return nil, fmt.Errorf("file too short (%d bytes) for a header length", len(raw))
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if n > maxHeader || n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("header length %d exceeds file size %d", n, len(raw))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("header JSON: %w", err)
	}
	body := raw[8+n:]
	f := &File{Tensors: make(map[string]*Tensor, len(hdr))}
	for name, msg := range hdr {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		t, err := decode(name, e, body)
		if err != nil {
			return nil, err
		}
		f.Tensors[name] = t
	}
	return f, nil
}

func dtypeSize(dt string) (int, error) {
	switch dt {
	case "F32", "I32":
		return 4, nil
	case "F16", "BF16":
		return 2, nil
	case "I64", "F64":
		return 8, nil
	}
	return 0, fmt.Errorf("unsupported dtype %q", dt)
}

func decode(name string, e headerEntry, body []byte) (*Tensor, error) {
	size, err := dtypeSize(e.DType)
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	count := int64(1)
	for _, d := range e.Shape {
		if d < 0 || (d > 0 && count > math.MaxInt32*64/int64(d)) {
			return nil, fmt.Errorf("tensor %q: bad shape %v", name, e.Shape)
		}
		count *= int64(d)
	}
	lo, hi := e.DataOffsets[0], e.DataOffsets[1]
	if lo < 0 || hi < lo || hi > int64(len(body)) {
		return nil, fmt.Errorf("tensor %q: data offsets [%d,%d) outside data of %d bytes", name, lo, hi, len(body))
	}
	if hi-lo != count*int64(size) {
		return nil, fmt.Errorf("tensor %q: %d bytes for shape %v of %s (want %d)", name, hi-lo, e.Shape, e.DType, count*int64(size))
	}
	b := body[lo:hi]
	t := &Tensor{DType: e.DType, Shape: append([]int(nil), e.Shape...)}
	switch e.DType {
	case "F32":
		t.F32 = make([]float32, count)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F64":
		t.F32 = make([]float32, count)
		for i := range t.F32 {
			t.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "F16":
		t.F32 = make([]float32, count)
		for i := range t.F32 {
			t.F32[i] = HalfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "BF16":
		t.F32 = make([]float32, count)
		for i := range t.F32 {
			t.F32[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "I32":
		t.I64 = make([]int64, count)
		for i := range t.I64 {
			t.I64[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "I64":
		t.I64 = make([]int64, count)
		for i := range t.I64 {
			t.I64[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	}
	return t, nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32, including
// subnormals, infinities and NaN.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// ShardIndex is model.safetensors.index.json.
type ShardIndex struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

// ReadDir loads the weights of an HF checkpoint directory: model.safetensors,
// or the shards listed by model.safetensors.index.json.
func ReadDir(dir string) (*File, error) {
	single := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(single); err == nil {
		return ReadFile(single)
	}
	idxPath := filepath.Join(dir, "model.safetensors.index.json")
	raw, err := os.ReadFile(idxPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s has neither model.safetensors nor model.safetensors.index.json", dir)
	}
	var idx ShardIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", idxPath, err)
	}
	shards := map[string]bool{}
	for _, s := range idx.WeightMap {
		if filepath.Base(s) != s {
			return nil, fmt.Errorf("safetensors: %s: shard name %q must be a plain file name", idxPath, s)
		}
		shards[s] = true
	}
	names := make([]string, 0, len(shards))
	for s := range shards {
		names = append(names, s)
	}
	sort.Strings(names)
	out := &File{Tensors: map[string]*Tensor{}, Metadata: map[string]string{}}
	for _, s := range names {
		f, err := ReadFile(filepath.Join(dir, s))
		if err != nil {
			return nil, err
		}
		for k, v := range f.Tensors {
			if want, ok := idx.WeightMap[k]; ok && want != s {
				return nil, fmt.Errorf("safetensors: tensor %q found in %s but the index names %s", k, s, want)
			}
			out.Tensors[k] = v
		}
		for k, v := range f.Metadata {
			out.Metadata[k] = v
		}
	}
	for k, s := range idx.WeightMap {
		if _, ok := out.Tensors[k]; !ok {
			return nil, fmt.Errorf("safetensors: tensor %q listed in %s is missing from shard %s", k, idxPath, s)
		}
	}
	return out, nil
}

// WriteFile writes float32 tensors (dtype F32) atomically and durably with
// fsx, so a crash never leaves a truncated checkpoint under path. Tensor order in the
// file is sorted by name so that the same tensors always give the same bytes.
func WriteFile(path string, tensors map[string]*Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, k := range names {
		t := tensors[k]
		if t.F32 == nil && t.I64 != nil {
			hdr[k] = headerEntry{DType: "I64", Shape: t.Shape, DataOffsets: [2]int64{off, off + 8*int64(len(t.I64))}}
			off += 8 * int64(len(t.I64))
			continue
		}
		if len(t.F32) != t.Len() {
			return fmt.Errorf("safetensors: write %s: tensor %q has %d values for shape %v", path, k, len(t.F32), t.Shape)
		}
		hdr[k] = headerEntry{DType: "F32", Shape: t.Shape, DataOffsets: [2]int64{off, off + 4*int64(len(t.F32))}}
		off += 4 * int64(len(t.F32))
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	for len(js)%8 != 0 { // the format pads the header with spaces to 8-byte alignment
		js = append(js, ' ')
	}
	buf := make([]byte, 8, 8+len(js)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(js)))
	buf = append(buf, js...)
	for _, k := range names {
		t := tensors[k]
		if t.F32 == nil && t.I64 != nil {
			for _, v := range t.I64 {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
			}
			continue
		}
		for _, v := range t.F32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	if err := fsx.WriteBytes(path, 0o644, buf); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return nil
}
