package sparse

import (
	"github.com/colbert-go/colbert/codec/internal/diskfile"
)

// disk is codec/internal/diskfile (files with size and CRC-32C, mapping,
// id records, tombstones, manifests, the building directory) for this
// package: its errors begin with "sparse:".
const disk = diskfile.Owner("sparse")
