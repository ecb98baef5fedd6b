package deploycheck

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

var update = flag.Bool("update", false, "rewrite deploy/base/firebreak.yaml from the chart")

var deployDir = filepath.Join("..", "..", "deploy")

// baseHeader starts the generated base, so nobody edits it by hand.
const baseHeader = `# Code generated from charts/firebreak with deploy/base/values.yaml; DO NOT EDIT.
# Regenerate: go test ./tools/deploycheck -run TestKustomizeBaseIsTheRenderedChart -update
`

// renderBase renders the chart the way the kustomize base was generated.
func renderBase(t *testing.T) []byte {
	t.Helper()
	chrt, err := loadChart()
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ReadValuesFile(filepath.Join(deployDir, "base", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = "firebreak"
	install.Namespace = "firebreak"
	// Without it the SDK assumes Kubernetes 1.20, below Chart.yaml's floor.
	if install.KubeVersion, err = chartutil.ParseKubeVersion(kubeVersion); err != nil {
		t.Fatal(err)
	}
	rel, err := install.Run(chrt, vals.AsMap())
	if err != nil {
		t.Fatalf("render base: %v", err)
	}
	return append([]byte(baseHeader), rel.Manifest...)
}

// TestKustomizeBaseIsTheRenderedChart keeps one source of truth: the base
// is the chart rendered with deploy/base/values.yaml, so the overlays get
// every fix made to the chart.
func TestKustomizeBaseIsTheRenderedChart(t *testing.T) {
	t.Parallel()
	want := renderBase(t)
	file := filepath.Join(deployDir, "base", "firebreak.yaml")
	if *update {
		if err := os.WriteFile(file, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the chart rendered with deploy/base/values.yaml; regenerate it with -update", file)
	}
}

func kustomize(t *testing.T, dir string) []byte {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// opsSecrets are the Secrets the production overlay expects the operator to
// create (for example with External Secrets or Sealed Secrets).
var opsSecrets = append([]string{"firebreak-redis", "firebreak-nats-ca", "firebreak-receiver-secrets", "firebreak-auth-keys"}, natsUserSecrets...)

// natsUserSecrets hold each service's NATS password (key password), which
// the NATS server needs too.
var natsUserSecrets = []string{"firebreak-nats-ingest", "firebreak-nats-scorer", "firebreak-nats-reach",
	"firebreak-nats-escalation", "firebreak-nats-notifier", "firebreak-nats-console"}

func TestKustomizeOverlaysBuildValidObjects(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want expect
	}{
		{"base", expect{pdb: true, networkPolicy: true, externalSecrets: append([]string{"firebreak-redis", "firebreak-receiver-secrets", "firebreak-auth-keys"}, natsUserSecrets...)}},
		{filepath.Join("overlays", "dev"), expect{pdb: true, networkPolicy: true, extraWorkloads: []string{"nats", "redis"}}},
		{filepath.Join("overlays", "production"), expect{pdb: true, networkPolicy: true, serviceMonitors: true,
			externalSecrets: opsSecrets,
			hpa:             []string{"ingest"}, keda: []string{"scorer", "reach", "escalation", "notifier"}}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			out := kustomize(t, filepath.Join(deployDir, tc.dir))
			objs := decode(t, out)
			check(t, objs, tc.want)
			if bytes.Contains(out, []byte("managed-by: Helm")) {
				t.Errorf("%s labels objects as managed by Helm", tc.dir)
			}
		})
	}
}

// TestDevOverlayWiresServicesToItsNATSAndRedis: the dev overlay's services
// talk to the NATS and Redis it starts, with JetStream on.
func TestDevOverlayWiresServicesToItsNATSAndRedis(t *testing.T) {
	t.Parallel()
	objs := decode(t, kustomize(t, filepath.Join(deployDir, "overlays", "dev")))
	names := map[string]bool{}
	for _, s := range objs.services {
		names[s.Name] = true
	}
	for _, d := range objs.deployments {
		env := envMap(d.Spec.Template.Spec.Containers[0].Env)
		if url := env["FIREBREAK_NATS_URL"]; url != "" && url != "nats://nats:4222" {
			t.Errorf("%s: FIREBREAK_NATS_URL=%s, want the dev NATS", d.Name, url)
		}
		if url := env["FIREBREAK_REDIS_URL"]; url != "" && url != "redis://redis:6379/0" {
			t.Errorf("%s: FIREBREAK_REDIS_URL=%s, want the dev Redis", d.Name, url)
		}
		// The dev Redis runs without appendonly, which escalation and the
		// notifier refuse unless told the loss is accepted.
		acks := d.Name == "firebreak-escalation" || d.Name == "firebreak-notifier"
		if got := env["FIREBREAK_REDIS_DURABILITY"]; (got == "accept-loss") != acks {
			t.Errorf("%s: FIREBREAK_REDIS_DURABILITY=%q", d.Name, got)
		}
	}
	if !names["nats"] || !names["redis"] {
		t.Errorf("dev overlay Services %v, want nats and redis", names)
	}
	jetstream := false
	for _, s := range objs.statefulSets {
		if s.Name == "nats" {
			for _, a := range s.Spec.Template.Spec.Containers[0].Args {
				if a == "--jetstream" || a == "-js" {
					jetstream = true
				}
			}
		}
	}
	for _, c := range objs.configMaps {
		if regexp.MustCompile(`sync_interval:\s*always`).MatchString(c.Data["nats.conf"]) {
			jetstream = true
		}
	}
	if !jetstream {
		t.Error("dev NATS does not run JetStream")
	}
}

// TestGrafanaDashboardShowsTheServicesMetrics: the dashboard is valid JSON
// and queries the metrics the services export.
func TestGrafanaDashboardShowsTheServicesMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "firebreak.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard has uid %q, title %q, %d panels", dash.UID, dash.Title, len(dash.Panels))
	}
	exprs := ""
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs += tg.Expr + "\n"
		}
	}
	for _, metric := range []string{
		"firebreak_messages_processed_total", "firebreak_message_handle_duration_seconds_bucket",
		"firebreak_cases_opened_total", "firebreak_deliveries_total", "rpc_server_call_duration_seconds",
		"firebreak_pages_total", "firebreak_consumer_lag", "firebreak_stream_size_bytes",
	} {
		if !bytes.Contains([]byte(exprs), []byte(metric)) {
			t.Errorf("no panel queries %s", metric)
		}
	}
}
