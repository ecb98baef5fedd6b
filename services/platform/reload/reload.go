// Package reload keeps a file's content current: read again when the file
// changes, so a Secret or ConfigMap can be updated without a restart.
package reload

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// File is a file loaded into a T and loaded again when its size or
// modification time changes. It is checked at most every checkEvery, on
// the caller's path: one stat, no goroutine. A change that does not load
// keeps the last good content and is reported once.
type File[T any] struct {
	path       string
	checkEvery time.Duration
	load       func(path string) (T, error)
	onError    func(error)

	mu      sync.Mutex
	value   T
	checked time.Time
	modTime time.Time
	size    int64
}

// Open loads path with load, failing as load does, and checks it again at
// most every checkEvery; onError hears of a change that does not load.
func Open[T any](path string, checkEvery time.Duration, load func(path string) (T, error), onError func(error), now time.Time) (*File[T], error) {
	f := &File[T]{path: path, checkEvery: checkEvery, load: load, onError: onError}
	info, statErr := os.Stat(path) // before the read: a change after it is seen
	v, err := load(path)
	if err != nil {
		return nil, err
	}
	if statErr != nil {
		return nil, fmt.Errorf("read %s: %w", path, statErr)
	}
	f.value = v
	f.checked, f.modTime, f.size = now, info.ModTime(), info.Size()
	return f, nil
}

// Current returns the content, loading the file again if it changed.
func (f *File[T]) Current(now time.Time) T {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.checked) >= f.checkEvery {
		if err := f.reload(now); err != nil && f.onError != nil {
			f.onError(err)
		}
	}
	return f.value
}

// reload loads the file if it changed; the caller holds mu.
func (f *File[T]) reload(now time.Time) error {
	f.checked = now
	info, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("read %s: %w; the last good content stays", f.path, err)
	}
	if info.ModTime().Equal(f.modTime) && info.Size() == f.size {
		return nil
	}
	// Looked at once per change, loaded or not, so a bad change is
	// reported once.
	f.modTime, f.size = info.ModTime(), info.Size()
	v, err := f.load(f.path)
	if err != nil {
		return err
	}
	f.value = v
	return nil
}
