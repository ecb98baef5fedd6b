package deploycheck

import (
	"flag"
	"strings"
	"testing"

	"github.com/firebreak/firebreak/services/console"
	"github.com/firebreak/firebreak/services/escalation"
	"github.com/firebreak/firebreak/services/ingest"
	"github.com/firebreak/firebreak/services/notifier"
	"github.com/firebreak/firebreak/services/reach"
	"github.com/firebreak/firebreak/services/scorer"
)

// registrar is a service's configuration, which names its flags.
type registrar interface{ Register(*flag.FlagSet) }

var configs = map[string]registrar{
	"ingest": &ingest.Config{}, "scorer": &scorer.Config{}, "reach": &reach.Config{},
	"escalation": &escalation.Config{}, "notifier": &notifier.Config{}, "console": &console.Config{},
}

// TestChartSetsOnlySettingsTheServicesHave: every FIREBREAK_ variable the
// chart gives a container backs a flag of that service, so no value of the
// chart is silently ignored, across the chart's test values.
func TestChartSetsOnlySettingsTheServicesHave(t *testing.T) {
	t.Parallel()
	values := []string{consoleBehindIngress, chartCases[0].values + "grpcTLS:\n  enabled: true\n  existingSecret: firebreak-grpc-tls\n  mutual: true\n"}
	for _, c := range chartCases {
		values = append(values, c.values)
	}
	for _, v := range values {
		for svc, env := range envs(decode(t, []byte(mustRender(t, v).Manifest))) {
			fs := flag.NewFlagSet(svc, flag.ContinueOnError)
			configs[svc].Register(fs)
			for name := range env {
				flagName, ok := strings.CutPrefix(name, "FIREBREAK_")
				if !ok {
					continue
				}
				if fs.Lookup(strings.ToLower(strings.ReplaceAll(flagName, "_", "-"))) == nil {
					t.Errorf("the chart sets %s on %s, which has no flag --%s", name, svc, strings.ToLower(strings.ReplaceAll(flagName, "_", "-")))
				}
			}
		}
	}
}
