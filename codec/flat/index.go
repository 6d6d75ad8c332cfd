package flat

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/colbert-go/colbert/codec/pcaq"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/safetensors"
)

// A flat index is a directory holding every kept token vector of a
// collection as float32 (VectorsFile) and the passage ids (IDsFile, one a
// line). Every flat codec is applied to the vectors when the index is
// opened, so fp32, fp16 and pca-int8 searches of one checkpoint share one
// encoding of the corpus; what they search and what their size reports is
// the codec's. It keeps no centroids: it is searched exhaustively.
const (
	VectorsFile = "vectors.safetensors"
	IDsFile     = "ids.txt"
	// format tags VectorsFile's metadata so a foreign safetensors is refused.
	format = "colbert-go flat index v1"
)

// Codec names accepted by Open.
const (
	CodecFP32    = "fp32"
	CodecFP16    = "fp16"
	CodecPCAInt8 = "pca-int8" // PCA to PCAComponents dims, one int8 each
)

// Codecs lists the codec names of a flat index.
var Codecs = []string{CodecFP32, CodecFP16, CodecPCAInt8}

// vectorCodec is a fixed-size lossy encoding of dim-dimensional vectors
// (FP32, FP16, pcaq.PCA).
type vectorCodec interface {
	BytesPerVector() int
	Encode(vecs []float32, dst []byte)
	Decode(src []byte, dst []float32)
}

// Write stores a flat index in dir: vecs holds the passages' token vectors
// back to back (doclens[i] vectors of dim each for passage ids[i]); key
// names the encoder that made them, checked by Open. Both files are
// written atomically.
func Write(dir, key string, dim int, ids []string, vecs []float32, doclens []int) error {
	if len(ids) != len(doclens) {
		return fmt.Errorf("flat: %d ids for %d passages", len(ids), len(doclens))
	}
	lens := make([]int64, len(doclens))
	var ntok int
	for i, l := range doclens {
		lens[i] = int64(l)
		ntok += l
	}
	if ntok*dim != len(vecs) {
		return fmt.Errorf("flat: doclens sum to %d vectors, got %d floats of dim %d", ntok, len(vecs), dim)
	}
	var buf bytes.Buffer
	for i, id := range ids {
		if id == "" || strings.ContainsAny(id, "\r\n") {
			return fmt.Errorf("flat: passage %d id %q: ids must be non-empty single lines", i+1, id)
		}
		buf.WriteString(id)
		buf.WriteByte('\n')
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("flat: %w", err)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, VectorsFile), map[string]*safetensors.Tensor{
		"vectors": {DType: "F32", Shape: []int{ntok, dim}, F32: vecs},
		"doclens": {DType: "I64", Shape: []int{len(lens)}, I64: lens},
	}, map[string]string{"format": format, "checkpoint": key, "dim": strconv.Itoa(dim)}); err != nil {
		return fmt.Errorf("flat: %w", err)
	}
	if err := data.WriteFileAtomic(filepath.Join(dir, IDsFile), func(w *bufio.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	}); err != nil {
		return fmt.Errorf("flat: %w", err)
	}
	return nil
}

// Vectors are a flat index's contents as stored: passage i's vectors are
// Vecs[Offsets[i]·dim : Offsets[i+1]·dim].
type Vectors struct {
	IDs     []string
	Vecs    []float32
	Offsets []int
}

// ReadVectors reads the flat index in dir as stored (float32), checking
// that key (the encoder's, "" to skip) and dim match what wrote it.
func ReadVectors(dir, key string, dim int) (*Vectors, error) {
	path := filepath.Join(dir, VectorsFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flat: %w", err)
	}
	ids, err := readIDs(filepath.Join(dir, IDsFile))
	if err != nil {
		return nil, err
	}
	offsets, vecs, err := check(f, key, dim, len(ids))
	if err != nil {
		return nil, fmt.Errorf("flat: %s: %w", path, err)
	}
	return &Vectors{IDs: ids, Vecs: vecs, Offsets: offsets}, nil
}

// Index is a flat index opened with one codec: every passage's vectors
// encoded back to back. It implements search.Passages: Decompress decodes
// with the codec, so a search pays the decoding as a real fp16 or int8
// index would.
type Index struct {
	dim     int
	codec   vectorCodec
	ids     []string
	offsets []int // token offsets, len npass+1
	codes   []byte
	decoded []float32 // every vector decoded once (OpenOptions.DecodeOnce), or nil
	// bytes a stored index in this codec takes: encoded vectors, one
	// int32 length per passage, the codec's parameters.
	bytes int64
}

// OpenOptions configure Open beyond the codec.
type OpenOptions struct {
	// PCAComponents of CodecPCAInt8 (0 = dim/4).
	PCAComponents int
	// DecodeOnce decodes every vector once at open and searches the
	// decoded float32 (what the codec's quality is, at fp32 scan speed and
	// memory) instead of decoding each passage as it is scored (what a
	// search of the stored codes costs). Bytes still reports the codec's.
	DecodeOnce bool
}

// Open reads the flat index in dir, checks that key (the encoder's, "" to
// skip) and dim match what wrote it, and encodes its vectors with codec
// name (pcaComponents int8 dimensions for pca-int8; 0 = dim/4).
func Open(dir, key string, dim int, name string, opt OpenOptions) (*Index, error) {
	pcaComponents := opt.PCAComponents
	v, err := ReadVectors(dir, key, dim)
	if err != nil {
		return nil, err
	}
	ids, offsets, vecs := v.IDs, v.Offsets, v.Vecs
	npass := len(ids)
	ntok := offsets[npass]
	x := &Index{dim: dim, ids: ids, offsets: offsets}
	var params int64
	switch name {
	case CodecFP32:
		x.codec = FP32{Dim: dim}
	case CodecFP16:
		x.codec = FP16{Dim: dim}
	case CodecPCAInt8:
		if pcaComponents <= 0 {
			pcaComponents = max(1, dim/4)
		}
		pc, err := pcaq.Fit(pcaSample(vecs, dim), dim, pcaComponents)
		if err != nil {
			return nil, fmt.Errorf("flat: %s: %w", dir, err)
		}
		x.codec = pc
		params = int64(4 * (dim + pcaComponents*dim + pcaComponents)) // mean, basis, scales
	default:
		return nil, fmt.Errorf("flat: codec %q: want one of %s", name, strings.Join(Codecs, ", "))
	}
	bpv := x.codec.BytesPerVector()
	x.codes = make([]byte, ntok*bpv)
	x.codec.Encode(vecs, x.codes)
	x.bytes = int64(ntok*bpv) + 4*int64(npass) + params
	if opt.DecodeOnce {
		if _, exact := x.codec.(FP32); exact {
			x.decoded = vecs
		} else {
			x.decoded = make([]float32, len(vecs))
			x.codec.Decode(x.codes, x.decoded)
		}
		x.codes = nil
	}
	return x, nil
}

// readIDs reads IDsFile: one passage id a line.
func readIDs(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("flat: %w", err)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if sc.Text() == "" {
			return nil, fmt.Errorf("flat: %s:%d: empty passage id", path, line)
		}
		ids = append(ids, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("flat: %s: %w", path, err)
	}
	return ids, nil
}

// check validates a parsed vectors file against the encoder (key, dim) and
// the ids (npass passages) and returns the token offsets of every passage
// (len npass+1) and the vectors.
func check(f *safetensors.File, key string, dim, npass int) ([]int, []float32, error) {
	if got := f.Metadata["format"]; got != format {
		return nil, nil, fmt.Errorf("format %q, want %q", got, format)
	}
	if got := f.Metadata["checkpoint"]; key != "" && got != key {
		return nil, nil, fmt.Errorf("built with encoder %s, opened with %s", got, key)
	}
	vt, lt := f.Tensors["vectors"], f.Tensors["doclens"]
	if vt == nil || lt == nil || vt.F32 == nil || lt.I64 == nil || len(vt.Shape) != 2 || vt.Shape[1] != dim ||
		vt.Shape[0] < 0 || len(vt.F32) != vt.Shape[0]*dim {
		return nil, nil, fmt.Errorf("want float tensor vectors [tokens, %d] and integer tensor doclens [passages]", dim)
	}
	if len(lt.I64) != npass {
		return nil, nil, fmt.Errorf("%d passages, %s lists %d ids", len(lt.I64), IDsFile, npass)
	}
	ntok := vt.Shape[0]
	offsets := make([]int, npass+1)
	for i, l := range lt.I64 {
		if l < 0 || l > int64(ntok-offsets[i]) {
			return nil, nil, fmt.Errorf("doclens[%d] = %d overruns %d tokens", i, l, ntok)
		}
		offsets[i+1] = offsets[i] + int(l)
	}
	if offsets[npass] != ntok {
		return nil, nil, fmt.Errorf("doclens sum to %d tokens, vectors hold %d", offsets[npass], ntok)
	}
	return offsets, vt.F32, nil
}

// pcaSample takes at most 65536 evenly strided vectors to fit the PCA on:
// the covariance of a larger sample changes little and costs dim² per vector.
func pcaSample(vecs []float32, dim int) []float32 {
	const most = 1 << 16
	n := len(vecs) / dim
	if n <= most {
		return vecs
	}
	out := make([]float32, 0, most*dim)
	for i := 0; i < most; i++ {
		j := i * n / most
		out = append(out, vecs[j*dim:(j+1)*dim]...)
	}
	return out
}

// Dim is the vector dimension.
func (x *Index) Dim() int { return x.dim }

// NumPassages is the number of passages.
func (x *Index) NumPassages() int { return len(x.ids) }

// NumTokens is the number of stored vectors.
func (x *Index) NumTokens() int { return x.offsets[len(x.offsets)-1] }

// Bytes is what a stored index in this codec takes.
func (x *Index) Bytes() int64 { return x.bytes }

// PassageID is pid's id.
func (x *Index) PassageID(pid int) string { return x.ids[pid] }

// Decompress decodes pid's vectors with the codec into dst.
func (x *Index) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= x.NumPassages() {
		return dst, fmt.Errorf("flat: pid %d out of range [0,%d)", pid, x.NumPassages())
	}
	lo, hi := x.offsets[pid], x.offsets[pid+1]
	n := (hi - lo) * x.dim
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	if x.decoded != nil {
		copy(dst, x.decoded[lo*x.dim:hi*x.dim])
		return dst, nil
	}
	bpv := x.codec.BytesPerVector()
	x.codec.Decode(x.codes[lo*bpv:hi*bpv], dst)
	return dst, nil
}
