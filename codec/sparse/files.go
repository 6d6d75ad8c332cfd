package sparse

import (
	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// disk is codec/internal/diskfile (files with size and CRC-32C, mapping,
// id records, tombstones, manifests, the building directory) for this
// package: its errors begin with "sparse:".
const disk = diskfile.Owner("sparse")

// ErrUpdating: another update (append, delete, metadata) of the same index
// holds its update lock; run this one again once it has committed.
var ErrUpdating = diskfile.ErrUpdating
