package index

import (
	"fmt"

	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// disk is codec/internal/diskfile (files with size and CRC-32C, mapping,
// id records, tombstones, manifests, the building directory) for this
// package: its errors begin with "index:".
const disk = diskfile.Owner("index")

// ivfView is a parsed IVF file: offsets[c]…offsets[c+1] index pids.
type ivfView struct {
	offsets []uint64
	pids    []int32
}

// parseIVF checks an IVF file's structure: monotone offsets covering all
// pids, each list strictly increasing with pids < numPassages.
func parseIVF(name string, b []byte, k, numPassages int) (ivfView, error) {
	hdr := 8 * (k + 1)
	if len(b) < hdr || (len(b)-hdr)%4 != 0 {
		return ivfView{}, fmt.Errorf("index: %s: size %d impossible for %d centroids", name, len(b), k)
	}
	v := ivfView{offsets: diskfile.Uint64s(b[:hdr]), pids: diskfile.Int32s(b[hdr:])}
	if v.offsets[0] != 0 || v.offsets[k] != uint64(len(v.pids)) {
		return ivfView{}, fmt.Errorf("index: %s: offsets do not span the %d pids", name, len(v.pids))
	}
	for c := 0; c < k; c++ {
		lo, hi := v.offsets[c], v.offsets[c+1]
		if hi < lo || hi > uint64(len(v.pids)) {
			return ivfView{}, fmt.Errorf("index: %s: centroid %d: offsets %d…%d out of order", name, c, lo, hi)
		}
		prev := int32(-1)
		for _, p := range v.pids[lo:hi] {
			if p <= prev || int(p) >= numPassages {
				return ivfView{}, fmt.Errorf("index: %s: centroid %d: pid %d unsorted or out of range", name, c, p)
			}
			prev = p
		}
	}
	return v, nil
}

// ErrUpdating: another update (append, delete, metadata) of the same index
// holds its update lock; run this one again once it has committed.
var ErrUpdating = diskfile.ErrUpdating
