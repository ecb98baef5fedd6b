package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/google/pprof/profile"

	"github.com/firebreak/firebreak/tools/stack"
)

// Usage is what the services used during a phase. In process, every
// service's goroutines carry a "service" profiler label (tools/stack sets
// it), so the phase's CPU profile splits CPU time by service; the load
// generator and the page sink carry Harness, and what carries no label is
// the embedded broker and the Go runtime's own work (the garbage
// collector's background marking above all). Memory cannot be
// split inside one process: RSS is the whole process's peak, an upper
// bound for each service. Services run apart (Procs) are read from /proc,
// CPU and RSS each.
type Usage struct {
	// CPUByService is CPU seconds per service label (Harness: the load
	// generator and the sink; "other": unlabelled, the broker and the
	// runtime).
	CPUByService map[string]float64 `json:"cpu_by_service_s,omitempty"`
	// PeakRSSMiB is the process's highest resident set during the phase.
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
	// RSSByService is each service's highest resident set during the
	// phase, when the services run as processes of their own.
	RSSByService map[string]float64 `json:"peak_rss_by_service_mib,omitempty"`
}

// watchUsage profiles the process and samples its RSS, and those of the
// services in pids (by name), until stop is called; the profile is also
// copied to keep when that is set.
func watchUsage(keep io.Writer, pids map[string]int) (stop func() (Usage, error), err error) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var peak float64
	apart := newApartUsage(pids)
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, statusRSS("/proc/self/status"))
			apart.sample()
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() (Usage, error) {
		pprof.StopCPUProfile()
		cancel()
		wg.Wait()
		u := Usage{PeakRSSMiB: peak}
		if keep != nil {
			if _, err := keep.Write(buf.Bytes()); err != nil {
				return u, fmt.Errorf("write CPU profile: %w", err)
			}
		}
		var err error
		u.CPUByService, err = cpuByLabel(&buf, stack.ProfileLabel)
		apart.add(&u)
		return u, err
	}, nil
}

// apartUsage follows the services running as processes of their own.
type apartUsage struct {
	pids     map[string]int
	cpuStart map[string]float64
	cpuLast  map[string]float64
	peak     map[string]float64
}

func newApartUsage(pids map[string]int) *apartUsage {
	a := &apartUsage{pids: pids, cpuStart: map[string]float64{}, cpuLast: map[string]float64{}, peak: map[string]float64{}}
	for name, pid := range pids {
		if cpu, _, ok := procUsage(pid); ok {
			a.cpuStart[name] = cpu
		}
	}
	return a
}

// sample reads each service's CPU and RSS now (only the sampling
// goroutine calls it, and add only after that goroutine ended).
func (a *apartUsage) sample() {
	for name, pid := range a.pids {
		if cpu, rss, ok := procUsage(pid); ok {
			a.cpuLast[name], a.peak[name] = cpu, max(a.peak[name], rss)
		}
	}
}

// add puts each service's CPU seconds over the phase and its peak RSS
// into u.
func (a *apartUsage) add(u *Usage) {
	if len(a.pids) == 0 {
		return
	}
	a.sample()
	if u.CPUByService == nil {
		u.CPUByService = map[string]float64{}
	}
	u.RSSByService = map[string]float64{}
	for name := range a.pids {
		u.CPUByService[name] += a.cpuLast[name] - a.cpuStart[name]
		u.RSSByService[name] = a.peak[name]
	}
}

// Harness is the value of the services' profiler label (stack.ProfileLabel)
// on the load generator's and the sink's goroutines, whose CPU is the
// measurement's, not Firebreak's.
const Harness = "loadgen"

// cpuByLabel sums a CPU profile's samples by one label's value.
func cpuByLabel(r io.Reader, label string) (map[string]float64, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return nil, fmt.Errorf("read CPU profile: %w", err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, fmt.Errorf("CPU profile has no cpu/nanoseconds samples")
	}
	out := map[string]float64{}
	for _, s := range p.Sample {
		name := "other"
		if v := s.Label[label]; len(v) > 0 {
			name = v[0]
		}
		out[name] += float64(s.Value[idx]) / 1e9
	}
	return out, nil
}
