package diskfile

import (
	"encoding/binary"
	"unsafe"
)

// The views read little-endian bytes in place. Mapped regions are
// page-aligned; a slice that is not suitably aligned (a fuzzer's input, a
// sub-slice) is copied first, so every view is aligned.

// Int32s views b as int32s.
func Int32s(b []byte) []int32 {
	u := Uint32s(b)
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&u[0])), len(u))
}

// Uint32s views b as uint32s.
func Uint32s(b []byte) []uint32 {
	if len(b) < 4 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		v := make([]uint32, len(b)/4)
		for i := range v {
			v[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		return v
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// Float32s views b as float32s.
func Float32s(b []byte) []float32 {
	u := Uint32s(b)
	if len(u) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&u[0])), len(u))
}

// Uint64s views b as uint64s.
func Uint64s(b []byte) []uint64 {
	if len(b) < 8 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		v := make([]uint64, len(b)/8)
		for i := range v {
			v[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		return v
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// The inverse views: numbers as their little-endian bytes, in place.

// I32Bytes views v as bytes.
func I32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// U32Bytes views v as bytes.
func U32Bytes(v []uint32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// F32Bytes views v as bytes.
func F32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// U64Bytes views v as bytes.
func U64Bytes(v []uint64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 8*len(v))
}
