package evaluate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/colbert-go/colbert/codec"
	"github.com/colbert-go/colbert/codec/flat"
	"github.com/colbert-go/colbert/codec/pcaq"
	"github.com/colbert-go/colbert/data"
	"github.com/colbert-go/colbert/data/safetensors"
	"github.com/colbert-go/colbert/search/indexer"
)

// Codecs of the index.
const (
	// CodecResidual is ColBERTv2's: centroid code + quantised residual per
	// token, on disk through codec/index; PLAID or exhaustive search.
	CodecResidual = "residual"
	// CodecFP32, CodecFP16 and CodecPCAInt8 are the flat ("naive")
	// baselines of codec/flat and codec/pcaq: every token vector stored on
	// its own, no centroids, so they are searched exhaustively only.
	CodecFP32    = "fp32"
	CodecFP16    = "fp16"
	CodecPCAInt8 = "pca-int8" // PCA to PCAComponents dims, one int8 each
)

// Codecs lists the accepted Codec values.
var Codecs = []string{CodecResidual, CodecFP32, CodecFP16, CodecPCAInt8}

// flatFile is the stored form of a flat index: the float32 token vectors
// and the passage lengths. Every flat codec is applied to it when the
// index is opened, so fp32, fp16 and pca-int8 evaluations of one checkpoint
// share one encoding of the corpus; what they search and what their size
// reports is the codec's.
const flatFile = "vectors.safetensors"

// flatFormat tags flatFile's metadata so a foreign safetensors is refused.
const flatFormat = "colbert-go flat index v1"

// buildFlat encodes the corpus into dir/flatFile (written atomically).
func buildFlat(ctx context.Context, dir string, m *indexer.Model, corpus []data.Passage, opt Options) error {
	cache := dir + ".ids"
	bar := opt.bar("tokenise", int64(len(corpus)), "passages")
	src, err := indexer.NewSource(ctx, m, corpus, indexer.SourceOptions{CachePath: cache, Threads: opt.Threads, Bar: bar})
	bar.Finish()
	if err != nil {
		return err
	}
	dim := m.Dim()
	vecs := make([]float32, 0, int(src.NumTokens())*dim)
	doclens := make([]int64, 0, src.Len())
	bar = opt.bar("encode", int64(src.Len()), "passages")
	const batch = 256
	for lo := 0; lo < src.Len(); lo += batch {
		hi := min(lo+batch, src.Len())
		emb, err := src.Embed(ctx, lo, hi)
		if err != nil {
			bar.Finish()
			return err
		}
		for _, e := range emb {
			vecs = append(vecs, e...)
			doclens = append(doclens, int64(len(e)/dim))
		}
		bar.Add(int64(hi - lo))
	}
	bar.Finish()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = safetensors.WriteFile(filepath.Join(dir, flatFile), map[string]*safetensors.Tensor{
		"vectors": {DType: "F32", Shape: []int{len(vecs) / dim, dim}, F32: vecs},
		"doclens": {DType: "I64", Shape: []int{len(doclens)}, I64: doclens},
	}, map[string]string{"format": flatFormat, "checkpoint": m.Key, "dim": strconv.Itoa(dim)})
	if err != nil {
		return err
	}
	os.Remove(cache) // only needed to resume
	return nil
}

// flatIndex is a flat index opened with one codec: every passage's vectors
// encoded back to back. It implements search.Index for exhaustive search:
// Decompress decodes with the codec, so a search pays the decoding as a
// real fp16 or int8 index would. It has no centroids; Centroids returns one
// placeholder row only because search.NewSearcher requires one, and
// evaluate refuses PLAID on it before a searcher is made.
type flatIndex struct {
	dim     int
	codec   codec.VectorCodec
	offsets []int // token offsets, len npass+1
	codes   []byte
	// Bytes a stored index in this codec takes: encoded vectors, one
	// int32 length per passage, the codec's parameters.
	bytes int64
}

// openFlat reads dir/flatFile, checks it against the model, and encodes
// the vectors with codec name (pcaComponents for pca-int8).
func openFlat(dir string, m *indexer.Model, name string, pcaComponents int, npass int) (*flatIndex, error) {
	path := filepath.Join(dir, flatFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, err
	}
	offsets, vecs, err := checkFlat(f, m.Key, m.Dim(), npass)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dim, ntok := m.Dim(), offsets[npass]
	x := &flatIndex{dim: dim, offsets: offsets}
	var params int64
	switch name {
	case CodecFP32:
		x.codec = flat.FP32{Dim: dim}
	case CodecFP16:
		x.codec = flat.FP16{Dim: dim}
	case CodecPCAInt8:
		pc, err := pcaq.Fit(pcaSample(vecs, dim), dim, pcaComponents)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		x.codec = pc
		params = int64(4 * (dim + pcaComponents*dim + pcaComponents)) // mean, basis, scales
	default:
		return nil, fmt.Errorf("codec %q is not a flat codec", name)
	}
	bpv := x.codec.BytesPerVector()
	x.codes = make([]byte, ntok*bpv)
	x.codec.Encode(vecs, x.codes)
	x.bytes = int64(ntok*bpv) + 4*int64(npass) + params
	return x, nil
}

// checkFlat validates a parsed flat index file against the model (its
// checkpoint hash and dim) and the corpus (npass passages) and returns the
// token offsets of every passage (len npass+1) and the vectors.
func checkFlat(f *safetensors.File, hash string, dim, npass int) ([]int, []float32, error) {
	if got := f.Metadata["format"]; got != flatFormat {
		return nil, nil, fmt.Errorf("format %q, want %q", got, flatFormat)
	}
	if got := f.Metadata["checkpoint"]; got != hash {
		return nil, nil, fmt.Errorf("built with checkpoint %s, evaluating %s", got, hash)
	}
	vt, lt := f.Tensors["vectors"], f.Tensors["doclens"]
	if vt == nil || lt == nil || vt.F32 == nil || lt.I64 == nil || len(vt.Shape) != 2 || vt.Shape[1] != dim ||
		vt.Shape[0] < 0 || len(vt.F32) != vt.Shape[0]*dim {
		return nil, nil, fmt.Errorf("want float tensor vectors [tokens, %d] and integer tensor doclens [passages]", dim)
	}
	if len(lt.I64) != npass {
		return nil, nil, fmt.Errorf("%d passages, the corpus has %d", len(lt.I64), npass)
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

func (x *flatIndex) Dim() int         { return x.dim }
func (x *flatIndex) NumPassages() int { return len(x.offsets) - 1 }
func (x *flatIndex) NumTokens() int   { return x.offsets[len(x.offsets)-1] }

// Centroids is one placeholder row (see flatIndex).
func (x *flatIndex) Centroids() []float32 {
	c := make([]float32, x.dim)
	c[0] = 1
	return c
}

// IVF lists every passage under the placeholder centroid.
func (x *flatIndex) IVF(c int) []int32 {
	if c != 0 {
		return nil
	}
	all := make([]int32, x.NumPassages())
	for i := range all {
		all[i] = int32(i)
	}
	return all
}

// Codes gives every token the placeholder centroid.
func (x *flatIndex) Codes(pid int) []int32 {
	return make([]int32, x.offsets[pid+1]-x.offsets[pid])
}

// Decompress decodes pid's vectors with the codec.
func (x *flatIndex) Decompress(pid int, dst []float32) ([]float32, error) {
	if pid < 0 || pid >= x.NumPassages() {
		return dst, fmt.Errorf("pid %d out of range [0,%d)", pid, x.NumPassages())
	}
	lo, hi := x.offsets[pid], x.offsets[pid+1]
	n := (hi - lo) * x.dim
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	bpv := x.codec.BytesPerVector()
	x.codec.Decode(x.codes[lo*bpv:hi*bpv], dst)
	return dst, nil
}
