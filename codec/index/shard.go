package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
	"github.com/colbert-go/colbert/data"
)

// MergeShard assembles the chunks of part `part` of nparts of the plan in
// planDir (the chunks EncodePart(part, nparts) writes: a contiguous range)
// into a standalone index in out: one shard of a sharded service. The
// shard keeps the plan's centroids and buckets, so every passage is
// stored with the very codes and residuals the whole index (Merge) stores
// for it and exact MaxSim scores agree across shards and with the whole
// index; its pids are renumbered from 0 in collection order. Only that
// part's chunks need to be encoded.
func MergeShard(ctx context.Context, planDir, out string, part, nparts int, overwrite bool) (*Manifest, error) {
	if !diskfile.HostLittleEndian {
		return nil, errors.New("index: big-endian hosts are not supported")
	}
	if nparts < 1 || part < 0 || part >= nparts {
		return nil, fmt.Errorf("index: shard %d/%d: want 0 ≤ part < nparts", part, nparts)
	}
	_, pl, err := loadPlan(planDir)
	if err != nil {
		return nil, err
	}
	clo, chi := data.PartRange(pl.numChunks(), part, nparts)
	if clo == chi {
		return nil, fmt.Errorf("index: shard %d/%d of a plan with %d chunks is empty (at most %d shards)", part, nparts, pl.numChunks(), pl.numChunks())
	}
	return commitFromPlan(out, planDir, "shard", overwrite, func(tmp string) (*Manifest, error) {
		return assembleShard(ctx, planDir, tmp, pl, clo, chi)
	})
}

// assembleShard links chunks clo…chi−1 of the plan in from into dir as
// chunks 0…, with the plan's codec files, and writes the IVF.
func assembleShard(ctx context.Context, from, dir string, pl plan, clo, chi int) (*Manifest, error) {
	first := clo * pl.ChunkSize
	m := &Manifest{Format: Format, Version: Version, Codec: "residual", NBits: pl.NBits, Dim: pl.Dim,
		Checkpoint: pl.Checkpoint, NumCentroids: pl.K, IVF: ivfName(0), Build: pl.Build,
		PoolFactor: pl.PoolFactor, PoolKeep: pl.PoolKeep, Files: map[string]FileInfo{}}
	for name, fi := range pl.Files {
		if err := linkOrCopy(filepath.Join(from, name), filepath.Join(dir, name), fi); err != nil {
			return nil, err
		}
		m.Files[name] = fi
	}
	for ci := clo; ci < chi; ci++ {
		lo, hi := ci*pl.ChunkSize, min(pl.Passages, (ci+1)*pl.ChunkSize)
		info, files, ok := chunkDone(from, ci, lo, hi, false)
		if !ok {
			return nil, fmt.Errorf("index: %s: chunk %d (passages %d…%d) not encoded yet; run its encode part first", from, ci, lo, hi-1)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, dst := chunkFiles(ci), chunkFiles(ci-clo)
		for x := range src {
			fi := files[src[x]]
			if err := linkOrCopy(filepath.Join(from, src[x]), filepath.Join(dir, dst[x]), fi); err != nil {
				return nil, err
			}
			m.Files[dst[x]] = fi
		}
		info.FirstPID -= first
		m.Chunks = append(m.Chunks, info)
		m.NumPassages += info.Passages
		m.NumEmbeddings += info.Embeddings
	}
	fi, err := writeIVF(dir, m, nil)
	if err != nil {
		return nil, err
	}
	m.Files[m.IVF] = fi
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("index: internal error, shard manifest invalid: %w", err)
	}
	return m, nil
}
