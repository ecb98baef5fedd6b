package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"helm.sh/helm/v3/pkg/release"
)

var chartDir = filepath.Join("..", "..", "charts", "firebreak")

// kubeVersion is the oldest Kubernetes the chart supports (its README says
// so); the checks run against it. Chart.yaml sets no kubeVersion, because
// `helm template` checks it against Helm's built-in default (v1.20) and
// would refuse to render without a cluster.
const kubeVersion = "v1.27.0"

var loadChart = sync.OnceValues(func() (*chart.Chart, error) { return loader.Load(chartDir) })

// render installs the chart client-side, as `helm template` and
// `helm install --dry-run` do: schema validation, templates, NOTES.txt.
func render(t *testing.T, valuesYAML string) (*release.Release, error) {
	t.Helper()
	chrt, err := loadChart()
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	vals, err := chartutil.ReadValues([]byte(valuesYAML))
	if err != nil {
		t.Fatalf("values: %v\n%s", err, valuesYAML)
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = "fb"
	install.Namespace = "firebreak"
	install.KubeVersion = kv
	install.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1", "keda.sh/v1alpha1"}
	return install.Run(chrt, vals.AsMap())
}

// TestChartRendersWithHelmsDefaults renders as a plain `helm template
// charts/firebreak` or `helm install --dry-run` does, with no cluster and
// the SDK's default capabilities.
func TestChartRendersWithHelmsDefaults(t *testing.T) {
	chrt, err := loadChart()
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.DryRun, install.DryRunOption, install.ClientOnly = true, "client", true
	install.ReleaseName, install.Namespace = "fb", "default"
	rel, err := install.Run(chrt, map[string]any{})
	if err != nil {
		t.Fatalf("helm template with Helm's defaults: %v", err)
	}
	if !strings.Contains(rel.Manifest, "kind: Deployment") {
		t.Errorf("rendered no Deployment:\n%.500s", rel.Manifest)
	}
}

func mustRender(t *testing.T, valuesYAML string) *release.Release {
	t.Helper()
	rel, err := render(t, valuesYAML)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return rel
}

// chartCases are representative value sets an operator would install with.
var chartCases = []struct {
	name   string
	values string
	want   expect
	// notes must all appear in NOTES.txt.
	notes []string
}{
	{
		name:   "defaults",
		values: ``,
		want:   expect{pdb: true, networkPolicy: true},
		notes:  []string{"rollout status", "sync_interval: always", "WARNING: Redis has no password", "every API call is refused"},
	},
	{
		name: "high availability with HPA, KEDA and ServiceMonitor",
		values: `
redis:
  addrs: [sentinel-0.redis:26379, sentinel-1.redis:26379, sentinel-2.redis:26379]
  masterName: firebreak
  password: s3cret
nats:
  url: nats://nats-0.nats:4222,nats://nats-1.nats:4222,nats://nats-2.nats:4222
  credentials: "-----BEGIN NATS USER JWT-----\n..."
  users: {enabled: false}
auth:
  keys: "ana:sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 roles=responder\n"
  oidc:
    issuer: https://login.example.com/realms/firebreak
    audience: firebreak
    rolesClaim: groups
    roleMap: social-oncall=responder,sre=admin
platformSecrets:
  values:
    x-bearer-token: xt
    mastodon-token: mt
receivers:
  content: |
    receivers: []
  secrets:
    pagerduty-routing-key: pd
    slack-webhook-url: https://hooks.example/slack
topologySpread:
  whenUnsatisfiable: DoNotSchedule
networkPolicy:
  ingressFrom:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: ingress-nginx
  egress:
    enabled: true
serviceMonitor:
  enabled: true
  labels: {release: prometheus}
otel:
  endpoint: http://otel-collector.observability:4317
services:
  ingest:
    autoscaling: {enabled: true, minReplicas: 3, maxReplicas: 12}
  scorer:
    keda: {enabled: true, maxReplicaCount: 20, lagThreshold: 500}
  reach:
    keda: {enabled: true}
  escalation:
    keda: {enabled: true}
  notifier:
    keda: {enabled: true}
    env:
      - name: GODEBUG
        value: http2client=0
`,
		want: expect{pdb: true, networkPolicy: true, serviceMonitors: true,
			hpa: []string{"ingest"}, keda: []string{"scorer", "reach", "escalation", "notifier"}},
		notes: []string{"scaled by KEDA on FIREBREAK_MENTIONS/scorer-mentions", "scaled by HPA", "Authorization: Bearer"},
	},
	{
		name: "existing secrets and config maps",
		values: `
redis:
  existingSecret: ops-redis
nats:
  existingSecret: ops-nats
  users: {enabled: false}
  tls:
    enabled: true
    existingSecret: ops-nats-ca
policy:
  existingConfigMap: ops-policy
receivers:
  existingConfigMap: ops-receivers
  existingSecret: ops-receiver-secrets
platformSecrets:
  existingSecret: ops-platform
  keys: [x-bearer-token, bluesky-chat-app-password]
auth:
  existingSecret: ops-auth-keys
scorerModel:
  volume: {configMap: {name: acme-scorer-model}}
  file: acme.fbm.gz
podDisruptionBudget:
  enabled: false
`,
		want: expect{networkPolicy: true,
			externalSecrets:    []string{"ops-redis", "ops-nats", "ops-nats-ca", "ops-receiver-secrets", "ops-platform", "ops-auth-keys"},
			externalConfigMaps: []string{"ops-policy", "ops-receivers", "acme-scorer-model"}},
	},
	{
		name: "TLS to NATS and Redis",
		values: `
nats:
  url: tls://nats.nats.svc:4222
  tls:
    enabled: true
    ca: |
      -----BEGIN CERTIFICATE-----
      MIIB
      -----END CERTIFICATE-----
redis:
  url: rediss://redis.redis.svc:6380/0
  password: pw
  ports: [6380]
shutdownTimeout: 40s
terminationGracePeriodSeconds: 50
networkPolicy:
  enabled: false
`,
		want: expect{pdb: true},
	},
	{
		name: "a subset of services",
		values: `
services:
  notifier: {enabled: false}
  escalation: {enabled: false}
  console: {enabled: false}
`,
		want: expect{pdb: true, networkPolicy: true, services: []string{"ingest", "scorer", "reach"}},
	},
}

func TestChartRendersValidObjects(t *testing.T) {
	for _, tc := range chartCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rel := mustRender(t, tc.values)
			objs := decode(t, []byte(rel.Manifest))
			check(t, objs, tc.want)
			for _, n := range tc.notes {
				if !strings.Contains(rel.Info.Notes, n) {
					t.Errorf("NOTES.txt lacks %q:\n%s", n, rel.Info.Notes)
				}
			}
		})
	}
}

func TestChartUsesExistingSecretsInsteadOfCreatingThem(t *testing.T) {
	t.Parallel()
	rel := mustRender(t, chartCases[2].values)
	objs := decode(t, []byte(rel.Manifest))
	for _, s := range objs.secrets {
		t.Errorf("rendered Secret %s although every secret is an existing one", s.Name)
	}
	for _, c := range objs.configMaps {
		t.Errorf("rendered ConfigMap %s although policy and receivers are existing ones", c.Name)
	}
	env := map[string]map[string]string{}
	for _, d := range objs.deployments {
		env[d.Spec.Template.Labels["app.kubernetes.io/component"]] = envMap(d.Spec.Template.Spec.Containers[0].Env)
	}
	for svc, want := range map[string]map[string]string{
		"ingest": {
			"FIREBREAK_AUTH_KEYS_FILE":                 "/etc/firebreak/auth/auth-keys",
			"FIREBREAK_X_BEARER_TOKEN_FILE":            "",
			"FIREBREAK_BLUESKY_CHAT_APP_PASSWORD_FILE": "/etc/firebreak/platform/bluesky-chat-app-password",
			"FIREBREAK_NATS_TLS_CA_FILE":               "/etc/firebreak/nats-tls/ca.crt",
			"FIREBREAK_NATS_CREDS_FILE":                "/etc/firebreak/nats/nats.creds",
			"FIREBREAK_REDIS_PASSWORD_FILE":            "/etc/firebreak/redis/redis-password",
		},
		"reach":      {"FIREBREAK_X_BEARER_TOKEN_FILE": "/etc/firebreak/platform/x-bearer-token", "FIREBREAK_BRAND_FOLLOWERS": "acme=203000"},
		"escalation": {"FIREBREAK_POLICY_FILE": "/etc/firebreak/policy/policy.yaml"},
		"notifier":   {"FIREBREAK_RECEIVERS_FILE": "/etc/firebreak/receivers/receivers.yaml"},
		"scorer":     {"FIREBREAK_AUTH_KEYS_FILE": "/etc/firebreak/auth/auth-keys", "FIREBREAK_X_BEARER_TOKEN_FILE": "", "FIREBREAK_SCORER_MODEL": "/etc/firebreak/scorer-model/acme.fbm.gz"},
	} {
		for k, v := range want {
			if env[svc][k] != v {
				t.Errorf("%s: %s=%q, want %q", svc, k, env[svc][k], v)
			}
		}
	}
}

// TestChartGivesEveryServiceTheKeysAndTheIdentityProvider: authentication
// is per service, so each must get the same credentials.
func TestChartGivesEveryServiceTheKeysAndTheIdentityProvider(t *testing.T) {
	t.Parallel()
	objs := decode(t, []byte(mustRender(t, chartCases[1].values).Manifest))
	if len(objs.deployments) != len(services) {
		t.Fatalf("%d deployments, want %d", len(objs.deployments), len(services))
	}
	for _, d := range objs.deployments {
		name := d.Spec.Template.Labels["app.kubernetes.io/component"]
		env := envMap(d.Spec.Template.Spec.Containers[0].Env)
		for k, v := range map[string]string{
			"FIREBREAK_AUTH_KEYS_FILE":   "/etc/firebreak/auth/auth-keys",
			"FIREBREAK_OIDC_ISSUER":      "https://login.example.com/realms/firebreak",
			"FIREBREAK_OIDC_AUDIENCE":    "firebreak",
			"FIREBREAK_OIDC_ROLES_CLAIM": "groups",
			"FIREBREAK_OIDC_ROLE_MAP":    "social-oncall=responder,sre=admin",
		} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
			}
		}
		mounted := false
		for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
			mounted = mounted || m.MountPath == "/etc/firebreak/auth"
		}
		if !mounted {
			t.Errorf("%s does not mount the keys file", name)
		}
	}
	if _, err := render(t, chartCases[0].values+"auth:\n  oidc:\n    issuer: https://login.example.com\n"); err == nil || !strings.Contains(err.Error(), "auth.oidc.audience is required") {
		t.Errorf("an issuer without an audience rendered: %v", err)
	}
}

func TestChartGivesEveryServiceTheStreamBudgets(t *testing.T) {
	t.Parallel()
	objs := decode(t, []byte(mustRender(t, chartCases[0].values+"nats:\n  streamMaxBytes: mentions=50GiB,cases=4GiB\n").Manifest))
	for _, d := range objs.deployments {
		if got := envMap(d.Spec.Template.Spec.Containers[0].Env)["FIREBREAK_STREAM_MAX_BYTES"]; got != "mentions=50GiB,cases=4GiB" {
			t.Errorf("%s: FIREBREAK_STREAM_MAX_BYTES=%q", d.Name, got)
		}
	}
}

func TestChartServesGRPCOverMutualTLSFromTheCertificateSecret(t *testing.T) {
	t.Parallel()
	values := chartCases[0].values + "grpcTLS:\n  enabled: true\n  existingSecret: firebreak-grpc-tls\n  mutual: true\n"
	objs := decode(t, []byte(mustRender(t, values).Manifest))
	for _, d := range objs.deployments {
		name := d.Spec.Template.Labels["app.kubernetes.io/component"]
		env := envMap(d.Spec.Template.Spec.Containers[0].Env)
		for k, v := range map[string]string{
			"FIREBREAK_TLS_CERT":      "/etc/firebreak/grpc-tls/tls.crt",
			"FIREBREAK_TLS_KEY":       "/etc/firebreak/grpc-tls/tls.key",
			"FIREBREAK_TLS_CA":        "/etc/firebreak/grpc-tls/ca.crt",
			"FIREBREAK_TLS_CLIENT_CA": "/etc/firebreak/grpc-tls/ca.crt",
		} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
			}
		}
		mounted := false
		for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
			// A subPath mount would never see a renewal.
			mounted = mounted || m.MountPath == "/etc/firebreak/grpc-tls" && m.SubPath == ""
		}
		fromSecret := false
		for _, v := range d.Spec.Template.Spec.Volumes {
			fromSecret = fromSecret || v.Name == "grpc-tls" && v.Secret != nil && v.Secret.SecretName == "firebreak-grpc-tls"
		}
		if !mounted || !fromSecret {
			t.Errorf("%s does not mount the whole Secret firebreak-grpc-tls at /etc/firebreak/grpc-tls", name)
		}
	}
	plain := decode(t, []byte(mustRender(t, chartCases[0].values).Manifest))
	for _, d := range plain.deployments {
		if _, ok := envMap(d.Spec.Template.Spec.Containers[0].Env)["FIREBREAK_TLS_CERT"]; ok {
			t.Errorf("TLS configured by default on %s", d.Name)
		}
	}
}

// TestChartDefaultPolicyIsTheEscalationDefault keeps the chart's default
// policy the one the escalation service ships and tests.
func TestChartDefaultPolicyIsTheEscalationDefault(t *testing.T) {
	t.Parallel()
	chrt, err := loadChart()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "services", "escalation", "policy", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := chrt.Values["policy"].(map[string]any)
	if got, _ := policy["content"].(string); got != string(want) {
		t.Errorf("values.yaml policy.content differs from services/escalation/policy/default.yaml; copy it over")
	}
}

// TestChartRejectsBadValues: a typo or a contradiction fails at install
// time with a message that names the setting.
func TestChartRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ name, values, want string }{
		{"typo in a service key", "services:\n  scorer:\n    replcas: 3\n", "replcas"},
		{"unknown top-level key", "replicaCount: 3\n", "replicaCount"},
		{"dotted subject prefix", "subjectPrefix: a.b\n", "subjectPrefix"},
		{"unknown service", "services:\n  scorrer:\n    enabled: true\n", "scorrer"},
		{"log level", "logLevel: verbose\n", "logLevel"},
		{"redis url scheme", "redis:\n  url: http://redis:6379\n", "url"},
		{"resource quantity", "services:\n  ingest:\n    resources:\n      requests: {cpu: lots, memory: 64Mi}\n      limits: {cpu: 1, memory: 64Mi}\n", "cpu"},
		{"grace period within the drain", "shutdownTimeout: 30s\nterminationGracePeriodSeconds: 30\n", "must exceed shutdownTimeout"},
		{"console replicas without a shared session key", "services:\n  console:\n    replicas: 2\n", "console.sessionKey"},
		{"console ingress without a host", "console:\n  ingress:\n    enabled: true\n", "console.ingress.host"},
		{"trace link without {trace_id}", "console:\n  traceURLTemplate: https://tempo.example.com/trace\n", "traceURLTemplate"},
		{"HPA and KEDA together", "services:\n  scorer:\n    autoscaling: {enabled: true}\n    keda: {enabled: true}\n", "not both"},
		{"KEDA on ingest", "services:\n  ingest:\n    keda: {enabled: true}\n", "ingest reads no JetStream consumer"},
		{"TLS without a CA", "nats:\n  tls: {enabled: true}\n", "nats.tls.ca"},
		{"unknown built-in scorer model", "scorerModel:\n  name: airlines\n", "name"},
		{"platform secret no service reads", "platformSecrets:\n  values:\n    bluesky-app-password: x\n", "bluesky-app-password"},
		{"existing platform secret without keys", "platformSecrets:\n  existingSecret: ops\n", "platformSecrets.keys"},
		{"gRPC TLS without a Secret", "grpcTLS: {enabled: true}\n", "grpcTLS.existingSecret"},
		{"mutual TLS without TLS", "grpcTLS: {mutual: true, existingSecret: grpc-tls}\n", "grpcTLS.mutual needs grpcTLS.enabled"},
		{"stream budget of no stream", "nats:\n  streamMaxBytes: tweets=1GiB\n", "streamMaxBytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := render(t, tc.values)
			if err == nil {
				t.Fatalf("rendered values\n%s\nwant an error naming %q", tc.values, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// TestChartLints runs `helm lint --strict` through the SDK for the default
// values and each representative set.
func TestChartLints(t *testing.T) {
	t.Parallel()
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range chartCases {
		vals, err := chartutil.ReadValues([]byte(tc.values))
		if err != nil {
			t.Fatal(err)
		}
		lint := action.NewLint()
		lint.Strict = true
		lint.Namespace = "firebreak"
		lint.KubeVersion = kv
		result := lint.Run([]string{chartDir}, vals.AsMap())
		for _, err := range result.Errors {
			t.Errorf("%s: lint: %v", tc.name, err)
		}
		for _, m := range result.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: lint: %s", tc.name, m)
			}
		}
	}
}

// TestChartREADMEListsEveryValue keeps the README's table in step with
// values.yaml: every leaf key (maps of services counted once) has a row.
func TestChartREADMEListsEveryValue(t *testing.T) {
	t.Parallel()
	chrt, err := loadChart()
	if err != nil {
		t.Fatal(err)
	}
	readme := ""
	for _, f := range chrt.Files {
		if f.Name == "README.md" {
			readme = string(f.Data)
		}
	}
	if readme == "" {
		t.Fatal("chart has no README.md")
	}
	var keys []string
	var walk func(prefix string, v map[string]any)
	walk = func(prefix string, v map[string]any) {
		for k, child := range v {
			key := prefix + k
			if prefix == "services." {
				key = "services.<name>"
				if k != "ingest" {
					continue
				}
			}
			m, ok := child.(map[string]any)
			if ok && len(m) > 0 && !leafMaps[key] {
				walk(key+".", m)
				continue
			}
			keys = append(keys, key)
		}
	}
	walk("", chrt.Values)
	for _, k := range keys {
		if !strings.Contains(readme, "| `"+k+"` |") {
			t.Errorf("README.md has no row for `%s`", k)
		}
	}
}

// leafMaps are values whose keys are the operator's (names, labels), listed
// as one row.
var leafMaps = map[string]bool{
	"brandFollowers": true, "podSecurityContext": true, "containerSecurityContext": true,
	"services.<name>.resources": true,
}

// TestChartScalesAPartitionedConsumerOnEveryPartition: with the mentions
// in four partitions, KEDA watches a mention consumer on each partition's
// stream, each with a quarter of the threshold; the notifier's consumer,
// on the cases, keeps its one trigger.
func TestChartScalesAPartitionedConsumerOnEveryPartition(t *testing.T) {
	t.Parallel()
	values := chartCases[0].values + "mentionPartitions: 4\nnats:\n  monitoringEndpoint: nats.nats.svc:8222\nservices:\n  scorer:\n    keda: {enabled: true, lagThreshold: 500}\n  notifier:\n    keda: {enabled: true}\n"
	objs := decode(t, []byte(mustRender(t, values).Manifest))
	got := map[string][]string{} // service: stream/threshold of each trigger
	for _, so := range objs.scaledObjects {
		for _, tr := range so.Spec.Triggers {
			got[so.Metadata.Name] = append(got[so.Metadata.Name], tr.Metadata.Stream+"/"+tr.Metadata.LagThreshold)
		}
	}
	want := map[string][]string{
		"fb-firebreak-scorer":   {"FIREBREAK_MENTIONS/125", "FIREBREAK_MENTIONS_P1/125", "FIREBREAK_MENTIONS_P2/125", "FIREBREAK_MENTIONS_P3/125"},
		"fb-firebreak-notifier": {"FIREBREAK_CASES/100"},
	}
	for name, triggers := range want {
		if !slices.Equal(got[name], triggers) {
			t.Errorf("%s's triggers %v, want %v", name, got[name], triggers)
		}
	}
}
