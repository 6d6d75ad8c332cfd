package sparse

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// postings is a parsed postings generation: term t's pids and impacts are
// docs/imps[offsets[t]:offsets[t+1]], its blocks blockLast/blockMax
// [blockOff[t]:blockOff[t+1]] (block j covers postings j·BlockSize…).
type postings struct {
	offsets   []uint64
	docs      []uint32
	imps      []uint8
	blockOff  []int64 // derived, VocabSize+1
	blockLast []uint32
	blockMax  []uint8
	termMax   []uint8 // derived: the largest impact of each term
}

// parsePostings checks a postings generation completely: offsets spanning
// the postings, each list strictly increasing with pids < numPassages,
// impacts ≥ 1, and blocks whose last pid and maximum match their postings.
// The check is always done (one pass, about a byte read per byte mapped):
// pruning is exact only if the block maxima are, and a bad pid must not
// index outside a search's arrays. base names the files in errors.
func parsePostings(base string, vocab, numPassages, blockSize int, numBlocks int64, ob, db, ib, bb []byte) (*postings, error) {
	f := postingsFiles(base)
	if vocab <= 0 || blockSize <= 0 {
		return nil, fmt.Errorf("sparse: %s: vocabulary %d / block size %d invalid", base, vocab, blockSize)
	}
	if int64(len(ob)) != 8*(int64(vocab)+1) {
		return nil, fmt.Errorf("sparse: %s: size %d, a vocabulary of %d needs %d", f[0], len(ob), vocab, 8*(vocab+1))
	}
	if len(db)%4 != 0 {
		return nil, fmt.Errorf("sparse: %s: size %d not a multiple of 4", f[1], len(db))
	}
	n := len(db) / 4
	if len(ib) != n {
		return nil, fmt.Errorf("sparse: %s: %d impacts for %d postings in %s", f[2], len(ib), n, f[1])
	}
	if numBlocks < 0 || int64(len(bb)) != 5*numBlocks {
		return nil, fmt.Errorf("sparse: %s: size %d, %d blocks need %d", f[3], len(bb), numBlocks, 5*numBlocks)
	}
	p := &postings{offsets: diskfile.Uint64s(ob), docs: diskfile.Uint32s(db), imps: ib,
		blockLast: diskfile.Uint32s(bb[:4*numBlocks]), blockMax: bb[4*numBlocks:],
		blockOff: make([]int64, vocab+1), termMax: make([]uint8, vocab)}
	if p.docs == nil {
		p.docs = []uint32{}
	}
	if p.offsets[0] != 0 || p.offsets[vocab] != uint64(n) {
		return nil, fmt.Errorf("sparse: %s: offsets do not span the %d postings", f[0], n)
	}
	for t := 0; t < vocab; t++ {
		if lo, hi := p.offsets[t], p.offsets[t+1]; hi < lo || hi > uint64(n) {
			return nil, fmt.Errorf("sparse: %s: term %d: offsets %d…%d out of order", f[0], t, lo, hi)
		}
	}
	blk := int64(0)
	for t := 0; t < vocab; t++ {
		lo, hi := p.offsets[t], p.offsets[t+1]
		docs, imps := p.docs[lo:hi], p.imps[lo:hi]
		nb := (int64(len(docs)) + int64(blockSize) - 1) / int64(blockSize)
		if blk+nb > numBlocks {
			return nil, fmt.Errorf("sparse: %s: term %d needs blocks beyond the %d listed", f[3], t, numBlocks)
		}
		var tmax uint8
		for j := int64(0); j < nb; j++ {
			s, e := int(j)*blockSize, min(len(docs), int(j+1)*blockSize)
			var bm uint8
			for i := s; i < e; i++ {
				d := docs[i]
				if int64(d) >= int64(numPassages) || (i > 0 && d <= docs[i-1]) {
					return nil, fmt.Errorf("sparse: %s: term %d: pid %d unsorted or out of range", f[1], t, d)
				}
				if imps[i] == 0 {
					return nil, fmt.Errorf("sparse: %s: term %d: zero impact at posting %d", f[2], t, lo+uint64(i))
				}
				bm = max(bm, imps[i])
			}
			if p.blockLast[blk+j] != docs[e-1] || p.blockMax[blk+j] != bm {
				return nil, fmt.Errorf("sparse: %s: term %d block %d: last pid %d / max impact %d, postings say %d / %d",
					f[3], t, j, p.blockLast[blk+j], p.blockMax[blk+j], docs[e-1], bm)
			}
			tmax = max(tmax, bm)
		}
		p.termMax[t] = tmax
		blk += nb
		p.blockOff[t+1] = blk
	}
	if blk != numBlocks {
		return nil, fmt.Errorf("sparse: %s: %d blocks listed, the postings make %d", f[3], numBlocks, blk)
	}
	return p, nil
}

// fwdChunk is a mapped forward chunk: per passage its number of terms, then
// all passages' terms and float32 weights back to back.
type fwdChunk struct {
	firstPID int
	lens     []uint32
	terms    []uint32
	weights  []float32
}

// postingsStats are the counts of a written postings generation.
type postingsStats struct {
	postings, blocks, clamped int64
	files                     map[string]FileInfo
}

// writePostings writes postings generation base into dir: prev's lists (nil
// for a build) followed, term by term, by the postings of the forward
// chunks, whose pids all come after prev's. Weights are quantised with
// scale. Memory is 5 bytes per posting (the lists are transposed in RAM).
func writePostings(ctx context.Context, dir, base string, vocab, blockSize int, scale float32, prev *postings, chunks []fwdChunk) (postingsStats, error) {
	counts := make([]uint64, vocab+1)
	if prev != nil {
		for t := 0; t < vocab; t++ {
			counts[t] = prev.offsets[t+1] - prev.offsets[t]
		}
	}
	for _, c := range chunks {
		for _, t := range c.terms {
			if int64(t) >= int64(vocab) {
				return postingsStats{}, fmt.Errorf("sparse: chunk at pid %d: term %d outside the vocabulary of %d", c.firstPID, t, vocab)
			}
			counts[t]++
		}
	}
	if err := ctx.Err(); err != nil {
		return postingsStats{}, err
	}
	offsets := make([]uint64, vocab+1)
	for t := 0; t < vocab; t++ {
		offsets[t+1] = offsets[t] + counts[t]
	}
	total := offsets[vocab]
	docs := make([]uint32, total)
	imps := make([]uint8, total)
	fill := counts[:vocab] // reused as the write cursor
	copy(fill, offsets[:vocab])
	if prev != nil {
		for t := 0; t < vocab; t++ {
			lo, hi := prev.offsets[t], prev.offsets[t+1]
			copy(docs[fill[t]:], prev.docs[lo:hi])
			copy(imps[fill[t]:], prev.imps[lo:hi])
			fill[t] += hi - lo
		}
	}
	var st postingsStats
	for _, c := range chunks {
		pos := 0
		for i, l := range c.lens {
			pid := uint32(c.firstPID + i)
			for k := pos; k < pos+int(l); k++ {
				t := c.terms[k]
				q, cl := quantise(c.weights[k], scale)
				if cl {
					st.clamped++
				}
				docs[fill[t]], imps[fill[t]] = pid, q
				fill[t]++
			}
			pos += int(l)
		}
		if err := ctx.Err(); err != nil {
			return postingsStats{}, err
		}
	}
	var blast []uint32
	var bmax []uint8
	for t := 0; t < vocab; t++ {
		lo, hi := int(offsets[t]), int(offsets[t+1])
		for s := lo; s < hi; s += blockSize {
			e := min(hi, s+blockSize)
			var m uint8
			for _, q := range imps[s:e] {
				m = max(m, q)
			}
			blast = append(blast, docs[e-1])
			bmax = append(bmax, m)
		}
	}
	st.postings, st.blocks = int64(total), int64(len(blast))
	st.files = map[string]FileInfo{}
	names := postingsFiles(base)
	parts := [4][][]byte{{diskfile.U64Bytes(offsets)}, {diskfile.U32Bytes(docs)}, {imps}, {diskfile.U32Bytes(blast), bmax}}
	for i, name := range names {
		fi, err := disk.WriteFile(filepath.Join(dir, name), parts[i]...)
		if err != nil {
			return postingsStats{}, err
		}
		st.files[name] = fi
	}
	return st, nil
}
