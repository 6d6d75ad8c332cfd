// Package progress reports the advance of long jobs. Library code takes a
// *Bar (nil is valid and silent) so that the CLI decides whether and where a
// bar is drawn; libraries never write to the terminal themselves.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Bar is a thread-safe progress counter that redraws a one-line bar on a
// terminal at most every 200 ms. A nil *Bar ignores every call.
type Bar struct {
	mu      sync.Mutex
	w       io.Writer
	label   string
	unit    string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	enabled bool
}

// New returns a bar writing to w. It draws only when enabled is true; use
// Enabled(os.Stderr, quiet) to decide.
func New(w io.Writer, label string, total int64, unit string, enabled bool) *Bar {
	now := time.Now()
	return &Bar{w: w, label: label, unit: unit, total: total, start: now, enabled: enabled}
}

// Enabled reports whether a bar should be drawn on f: only when f is a
// terminal and the user did not ask for quiet output.
func Enabled(f *os.File, quiet bool) bool {
	if quiet || f == nil {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// SetTotal changes the expected total (for jobs that learn it late).
func (b *Bar) SetTotal(total int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.total = total
	b.mu.Unlock()
}

// Add advances the bar by n units.
func (b *Bar) Add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += n
	now := time.Now()
	if b.enabled && now.Sub(b.last) >= 200*time.Millisecond {
		b.last = now
		b.draw(now)
	}
}

// Done returns the units counted so far.
func (b *Bar) Done() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enabled {
		b.draw(time.Now())
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) draw(now time.Time) {
	elapsed := now.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed
	}
	if b.total > 0 {
		frac := float64(b.done) / float64(b.total)
		if frac > 1 {
			frac = 1
		}
		const width = 30
		filled := int(frac * width)
		bar := make([]byte, width)
		for i := range bar {
			if i < filled {
				bar[i] = '='
			} else {
				bar[i] = ' '
			}
		}
		eta := ""
		if rate > 0 && b.done < b.total {
			eta = fmt.Sprintf(" eta %s", time.Duration(float64(b.total-b.done)/rate*float64(time.Second)).Round(time.Second))
		}
		fmt.Fprintf(b.w, "\r%s [%s] %d/%d %s (%.0f %s/s)%s ", b.label, bar, b.done, b.total, b.unit, rate, b.unit, eta)
		return
	}
	fmt.Fprintf(b.w, "\r%s %d %s (%.0f %s/s) ", b.label, b.done, b.unit, rate, b.unit)
}
