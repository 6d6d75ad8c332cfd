package diskfile

import (
	"reflect"
	"testing"
)

func FuzzParseIDs(f *testing.F) {
	f.Add(AppendID(AppendID(nil, "doc1"), ""), 2)
	f.Add([]byte{0x80}, 1)
	f.Add([]byte{5, 'a'}, 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		ids, err := disk.ParseIDs("fuzz", b, n)
		if err != nil {
			return
		}
		var again []byte
		for _, id := range ids {
			again = AppendID(again, id)
		}
		// Non-minimal uvarints decode but re-encode shorter; compare ids.
		ids2, err := disk.ParseIDs("again", again, n)
		if err != nil || !reflect.DeepEqual(ids, ids2) {
			t.Fatalf("ids do not round-trip: %q vs %q (%v)", ids, ids2, err)
		}
	})
}

func FuzzParseTombstones(f *testing.F) {
	f.Add(U32Bytes([]uint32{1, 5, 9}), 10)
	f.Add([]byte{1, 0, 0}, 3)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		ts, err := disk.ParseTombstones("fuzz", b, n)
		if err != nil {
			return
		}
		for i, p := range ts {
			if int64(p) >= int64(n) || (i > 0 && p <= ts[i-1]) {
				t.Fatalf("accepted bad tombstone %d at %d", p, i)
			}
		}
	})
}
