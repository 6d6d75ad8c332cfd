package diskfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrUpdating is returned when another update of the same index (an
// append, a delete, new metadata), in this process or another, holds its
// update lock. Updates write the next generation's files under fixed names,
// so two at once would overwrite each other's; the second is refused
// instead, and can be run again once the first has committed.
var ErrUpdating = errors.New("another update of this index is in progress")

// UpdateLockName is the lock file in an index directory. It holds no data
// and is not in the manifest; an update takes an exclusive flock(2) on it
// for its whole run, released when it returns or its process ends (so a
// crashed update leaves no stale lock).
const UpdateLockName = ".update.lock"

// LockUpdate takes dir's update lock without waiting and returns the
// function that releases it; when another update holds it, the error wraps
// ErrUpdating.
func (o Owner) LockUpdate(dir string) (release func(), err error) {
	path := Join(dir, UpdateLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, o.errorf("lock %s for the update: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: update %s: %w (retry once it has finished)", o, dir, ErrUpdating)
		}
		return nil, o.errorf("lock %s for the update: %w", path, err)
	}
	return func() { f.Close() }, nil // closing the file releases the lock
}
