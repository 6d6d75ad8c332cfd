package diskfile

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// AppendID appends one passage id record (uvarint length + bytes).
func AppendID(dst []byte, id string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	return append(dst, id...)
}

// ParseIDs decodes exactly n id records from b; name is used in errors.
func (o Owner) ParseIDs(name string, b []byte, n int) ([]string, error) {
	ids := make([]string, 0, min(n, len(b)+1))
	for i := 0; i < n; i++ {
		l, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, o.errorf("%s: record %d: bad length prefix", name, i)
		}
		b = b[k:]
		if l > uint64(len(b)) {
			return nil, o.errorf("%s: record %d: length %d beyond end of file", name, i, l)
		}
		ids = append(ids, string(b[:l]))
		b = b[l:]
	}
	if len(b) != 0 {
		return nil, o.errorf("%s: %d trailing bytes after %d records", name, len(b), n)
	}
	return ids, nil
}

// LiveIDs maps the id of every pid not deleted to its pid; an id live at
// two pids is an error naming dir.
func (o Owner) LiveIDs(dir string, ids []string, deleted []bool, numDeleted int) (map[string]int32, error) {
	live := make(map[string]int32, len(ids)-numDeleted)
	for p, id := range ids {
		if deleted[p] {
			continue
		}
		if q, dup := live[id]; dup {
			return nil, o.errorf("%s: passage id %q is live at pids %d and %d", dir, id, q, p)
		}
		live[id] = int32(p)
	}
	return live, nil
}

// CheckNewIDs refuses to append n passages (ids id(0)…id(n−1)) to the
// index in dir when an id is live there (pid finds it) or repeated.
func (o Owner) CheckNewIDs(dir string, n int, id func(i int) string, pid func(id string) (int, bool)) error {
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		id := id(i)
		if _, live := pid(id); live || seen[id] {
			return o.errorf("append to %s: passage id %q already present", dir, id)
		}
		seen[id] = true
	}
	return nil
}

// TombstonesName is the tombstones file of generation gen: the sorted
// uint32 deleted pids.
func TombstonesName(gen int) string { return fmt.Sprintf("tombstones.%05d.bin", gen) }

// ParseTombstones checks a strictly increasing list of pids < numPassages.
func (o Owner) ParseTombstones(name string, b []byte, numPassages int) ([]uint32, error) {
	if len(b)%4 != 0 {
		return nil, o.errorf("%s: size %d not a multiple of 4", name, len(b))
	}
	t := Uint32s(b)
	for i, p := range t {
		if int64(p) >= int64(numPassages) || (i > 0 && p <= t[i-1]) {
			return nil, o.errorf("%s: entry %d (pid %d) unsorted or out of range", name, i, p)
		}
	}
	return t, nil
}

// Deleted maps and parses the tombstones file name ("" when none) of an
// index of numPassages pids: deleted[p] reports whether p is tombstoned.
func (m *Maps) Deleted(name string, numPassages int) ([]bool, error) {
	deleted := make([]bool, numPassages)
	if name == "" {
		return deleted, nil
	}
	b, err := m.Map(name)
	if err != nil {
		return nil, err
	}
	ts, err := m.owner.ParseTombstones(Join(m.dir, name), b, numPassages)
	if err != nil {
		return nil, err
	}
	for _, p := range ts {
		deleted[p] = true
	}
	return deleted, nil
}

// Tombstone returns the sorted pids deleted after also deleting ids from
// the index in dir (deleted: its tombstones; pid: its live id lookup).
// An id that is not live or is listed twice is an error.
func (o Owner) Tombstone(dir string, deleted []bool, pid func(id string) (int, bool), ids []string) ([]uint32, error) {
	var dead []uint32
	for p, d := range deleted {
		if d {
			dead = append(dead, uint32(p))
		}
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, o.errorf("delete from %s: id %q listed twice", dir, id)
		}
		p, ok := pid(id)
		if !ok {
			return nil, o.errorf("delete from %s: no live passage with id %q", dir, id)
		}
		seen[id] = true
		dead = append(dead, uint32(p))
	}
	slices.Sort(dead)
	return dead, nil
}

// NextTombstones writes generation gen's tombstones file of dead into dir
// (nothing when none is dead: name "") and returns its name with the next
// generation's file list: files without the previous tombstones file old,
// plus the new one. The delete of both index formats.
func (o Owner) NextTombstones(dir string, gen int, files map[string]FileInfo, old string, dead []uint32) (name string, next map[string]FileInfo, err error) {
	next = Without(files, old)
	if len(dead) == 0 {
		return "", next, nil
	}
	name = TombstonesName(gen)
	fi, err := o.WriteFile(Join(dir, name), U32Bytes(dead))
	if err != nil {
		return "", nil, err
	}
	next[name] = fi
	return name, next, nil
}
