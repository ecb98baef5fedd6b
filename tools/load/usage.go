package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

// Usage is what the services used during a phase. In process, every
// service's goroutines carry a "service" profiler label (tools/stack sets
// it), so the phase's CPU profile splits CPU time by service; what carries
// no label is the embedded broker and the load generator. Memory cannot be
// split inside one process: RSS is the whole process's peak, an upper
// bound for each service.
type Usage struct {
	// CPUByService is CPU seconds per service label ("other": unlabelled).
	CPUByService map[string]float64 `json:"cpu_by_service_s,omitempty"`
	// PeakRSSMiB is the process's highest resident set during the phase.
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`
}

// watchUsage profiles the process and samples its RSS until stop is
// called; the profile is also copied to keep when that is set.
func watchUsage(keep io.Writer) (stop func() (Usage, error), err error) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return nil, fmt.Errorf("start CPU profile: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var peak float64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, rssMiB())
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
		u.CPUByService, err = cpuByLabel(&buf, "service")
		return u, err
	}, nil
}

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

// rssMiB is this process's resident set now (0 where /proc is missing).
func rssMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
