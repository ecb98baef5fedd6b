package load

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

func TestCPUIsSplitByTheServiceLabel(t *testing.T) {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Sample: []*profile.Sample{
			{Value: []int64{1, 300e6}, Label: map[string][]string{"service": {"scorer"}}},
			{Value: []int64{1, 200e6}, Label: map[string][]string{"service": {"scorer"}}},
			{Value: []int64{1, 100e6}, Label: map[string][]string{"service": {"ingest"}}},
			{Value: []int64{1, 50e6}},
		},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := cpuByLabel(&buf, "service")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"scorer": 0.5, "ingest": 0.1, "other": 0.05}
	if len(got) != len(want) {
		t.Fatalf("cpu by service = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("cpu by service = %v, want %v", got, want)
		}
	}
	if _, err := cpuByLabel(bytes.NewReader([]byte("not a profile")), "service"); err == nil {
		t.Fatal("a broken profile must be an error")
	}
}

func TestThisProcessHasAResidentSet(t *testing.T) {
	if rss := statusRSS("/proc/self/status"); rss <= 0 {
		t.Fatalf("VmRSS of this process = %v MiB, want > 0 (is /proc mounted?)", rss)
	}
}

func TestProcessUsageIsReadFromProc(t *testing.T) {
	cpu, rss, ok := procUsage(os.Getpid())
	if !ok || rss <= 0 || cpu < 0 {
		t.Fatalf("usage of this process: cpu %v s, rss %v MiB, ok %v; want a resident set (is /proc mounted?)", cpu, rss, ok)
	}
	if _, _, ok := procUsage(1 << 30); ok {
		t.Fatal("a process that does not exist must not report usage")
	}
}

func TestEachServiceRunApartIsJudgedOnItsOwnRSS(t *testing.T) {
	s := &Summary{
		Runs:  []Run{{Phases: []Phase{{Name: "fast", Throughput: 1000, Usage: Usage{PeakRSSMiB: 300}}}}},
		Apart: &Phase{Name: "fast apart", Usage: Usage{RSSByService: map[string]float64{"ingest": 40, "escalation": 160, "scorer": 90}}},
	}
	s.Compute()
	if s.Headline.PeakServiceRSSMiB != 160 || s.Headline.PeakService != "escalation" || s.Headline.PeakRSSMiB != 300 {
		t.Fatalf("headline peak service RSS %v (%s), whole process %v; want 160 (escalation), 300", s.Headline.PeakServiceRSSMiB, s.Headline.PeakService, s.Headline.PeakRSSMiB)
	}
	var rss []Goal
	for _, g := range s.Headline.Targets {
		if strings.Contains(g.Name, "RSS") {
			rss = append(rss, g)
		}
	}
	if len(rss) != 1 || rss[0].Measured != 160 || rss[0].Met {
		t.Fatalf("RSS targets %+v; want one, on the largest service apart (160 MiB), missed", rss)
	}
	s.Apart.Usage.RSSByService["escalation"] = 120
	s.Headline = Headline{}
	s.Compute()
	for _, g := range s.Headline.Targets {
		if strings.Contains(g.Name, "RSS") && !g.Met {
			t.Fatalf("%+v: every service under 150 MiB apart must meet the target, whatever the whole process used", g)
		}
	}
}
