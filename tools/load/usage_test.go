package load

import (
	"bytes"
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
	if rss := rssMiB(); rss <= 0 {
		t.Fatalf("VmRSS of this process = %v MiB, want > 0 (is /proc mounted?)", rss)
	}
}
