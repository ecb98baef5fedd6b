package deploycheck

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const consoleBehindIngress = `
console:
  token: console-key-0123456789abcdef0123456789
  sessionKey: 0123456789abcdef0123456789abcdef0123456789
  traceURLTemplate: https://grafana.example.com/explore?trace={trace_id}
  ingress:
    enabled: true
    className: nginx
    host: firebreak.example.com
    annotations:
      cert-manager.io/cluster-issuer: letsencrypt
    tls:
      enabled: true
services:
  console:
    replicas: 2
`

// TestChartExposesTheConsoleAndLinksNotificationsToIt: with an ingress the
// console is served at its host over TLS, reached through the
// NetworkPolicy from the ingress controller, and every notification links
// to that host.
func TestChartExposesTheConsoleAndLinksNotificationsToIt(t *testing.T) {
	t.Parallel()
	objs := decode(t, []byte(mustRender(t, consoleBehindIngress).Manifest))
	check(t, objs, expect{pdb: true, networkPolicy: true})
	if len(objs.ingresses) != 1 {
		t.Fatalf("%d Ingresses, want the console's", len(objs.ingresses))
	}
	ing := objs.ingresses[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
		t.Errorf("Ingress class %v, want nginx", ing.Spec.IngressClassName)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "fb-firebreak-console-tls" || !contains(ing.Spec.TLS[0].Hosts, "firebreak.example.com") {
		t.Errorf("Ingress TLS %+v, want firebreak.example.com with secret fb-firebreak-console-tls", ing.Spec.TLS)
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("Ingress annotations %v", ing.Annotations)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "firebreak.example.com" || ing.Spec.Rules[0].HTTP == nil {
		t.Fatalf("Ingress rules %+v, want one for firebreak.example.com", ing.Spec.Rules)
	}
	paths := ing.Spec.Rules[0].HTTP.Paths
	for _, p := range []string{"/", "/cases/x:1", "/cases/x:1/acknowledge", "/events", "/insights", "/policy", "/policy/try", "/static/console.css", "/signout", "/auth/callback"} {
		if !routed(paths, p) {
			t.Errorf("the console's page %s is not routed by the Ingress", p)
		}
	}
	for _, p := range []string{"/metrics", "/healthz", "/readyz", "/metricsx"} {
		if routed(paths, p) {
			t.Errorf("the Ingress routes %s to the console: it is for the cluster only", p)
		}
	}
	backend := paths[0].Backend.Service
	console := findDeployment(objs, "fb-firebreak-console")
	if console == nil {
		t.Fatal("no console Deployment")
	}
	found := false
	for _, s := range objs.services {
		if s.Name == backend.Name && backend.Port.Name == "http" && s.Spec.Selector["app.kubernetes.io/component"] == "console" {
			found = true
		}
	}
	if !found {
		t.Errorf("Ingress backend %s:%s is not the console's http port", backend.Name, backend.Port.Name)
	}

	env := envs(objs)
	for svc, want := range map[string]map[string]string{
		"notifier": {"FIREBREAK_LINK_BASE": "https://firebreak.example.com"},
		"console": {
			"FIREBREAK_PUBLIC_URL":              "https://firebreak.example.com",
			"FIREBREAK_ESCALATION_ADDR":         "fb-firebreak-escalation:9090",
			"FIREBREAK_NOTIFIER_ADDR":           "fb-firebreak-notifier:9090",
			"FIREBREAK_SCORER_ADDR":             "fb-firebreak-scorer:9090",
			"FIREBREAK_TOKEN_FILE":              "/etc/firebreak/console/token",
			"FIREBREAK_SESSION_KEY_FILE":        "/etc/firebreak/console/session-key",
			"FIREBREAK_TRACE_URL_TEMPLATE":      "https://grafana.example.com/explore?trace={trace_id}",
			"FIREBREAK_OIDC_CLIENT_SECRET_FILE": "",
		},
	} {
		for k, v := range want {
			if env[svc][k] != v {
				t.Errorf("%s: %s=%q, want %q", svc, k, env[svc][k], v)
			}
		}
	}
	c := console.Spec.Template.Spec.Containers[0]
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("console container security context %+v: want a read-only root filesystem and non-root", sc)
	}
	if !ingressAllowed(objs.netpols, "console", "ingress-nginx") {
		t.Error("the console's NetworkPolicy does not let the ingress controller in")
	}
	if ingressAllowed(objs.netpols, "escalation", "ingress-nginx") {
		t.Error("escalation's NetworkPolicy lets the ingress controller in; only the console's should")
	}
}

// TestChartLinksNotificationsToTheConsoleInsideTheCluster: with no public
// address the links still name the console, at its Service.
func TestChartLinksNotificationsToTheConsoleInsideTheCluster(t *testing.T) {
	t.Parallel()
	objs := decode(t, []byte(mustRender(t, "").Manifest))
	env := envs(objs)
	if got, want := env["notifier"]["FIREBREAK_LINK_BASE"], "http://fb-firebreak-console.firebreak.svc:8080"; got != want {
		t.Errorf("notifier FIREBREAK_LINK_BASE=%q, want %q", got, want)
	}
	if _, set := env["console"]["FIREBREAK_PUBLIC_URL"]; set {
		t.Errorf("console FIREBREAK_PUBLIC_URL=%q with no public address", env["console"]["FIREBREAK_PUBLIC_URL"])
	}
	if len(objs.ingresses) != 0 {
		t.Errorf("%d Ingresses by default, want none", len(objs.ingresses))
	}
	objs = decode(t, []byte(mustRender(t, "console:\n  publicURL: https://care.example.com/\n").Manifest))
	if got := envs(objs)["notifier"]["FIREBREAK_LINK_BASE"]; got != "https://care.example.com" {
		t.Errorf("notifier FIREBREAK_LINK_BASE=%q with console.publicURL set, want https://care.example.com", got)
	}
}

// envs is each Firebreak container's environment, by component.
func envs(objs *objects) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, d := range objs.deployments {
		out[d.Spec.Template.Labels["app.kubernetes.io/component"]] = envMap(d.Spec.Template.Spec.Containers[0].Env)
	}
	return out
}

// ingressAllowed says whether the NetworkPolicy of component admits pods
// of namespace ns to its http port.
func ingressAllowed(netpols []*networkingv1.NetworkPolicy, component, ns string) bool {
	for _, np := range netpols {
		if np.Spec.PodSelector.MatchLabels["app.kubernetes.io/component"] != component {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			for _, peer := range rule.From {
				if peer.NamespaceSelector == nil || peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != ns {
					continue
				}
				for _, p := range rule.Ports {
					if p.Port != nil && p.Port.StrVal == "http" && (p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP) {
						return true
					}
				}
			}
		}
	}
	return false
}

// routed says whether an Ingress path matches p, as Kubernetes matches
// them: Exact as a whole, Prefix element by element.
func routed(paths []networkingv1.HTTPIngressPath, p string) bool {
	for _, ip := range paths {
		switch *ip.PathType {
		case networkingv1.PathTypeExact:
			if p == ip.Path {
				return true
			}
		case networkingv1.PathTypePrefix:
			prefix := strings.TrimSuffix(ip.Path, "/")
			if p == prefix || strings.HasPrefix(p, prefix+"/") || prefix == "" {
				return true
			}
		}
	}
	return false
}

// TestChartRoutesTheReceiversCallbacksToTheNotifier: with the callbacks on,
// the notifier reads their secrets, and the console's host routes Slack's
// and PagerDuty's callback paths to the notifier, which admits the ingress
// controller; with them off, neither path is routed.
func TestChartRoutesTheReceiversCallbacksToTheNotifier(t *testing.T) {
	t.Parallel()
	values := consoleBehindIngress + `receivers:
  secrets: {slack-signing-secret: s, slack-users.yaml: "U1: {user: amy, role: responder}", pagerduty-webhook-secret: p}
  callbacks: {slackSigningSecretKey: slack-signing-secret, slackUsersKey: slack-users.yaml, pagerdutyWebhookSecretKey: pagerduty-webhook-secret}
`
	objs := decode(t, []byte(mustRender(t, values).Manifest))
	env := envs(objs)["notifier"]
	for k, v := range map[string]string{
		"FIREBREAK_SLACK_SIGNING_SECRET_FILE":     "/etc/firebreak/receiver-secrets/slack-signing-secret",
		"FIREBREAK_SLACK_USERS_FILE":              "/etc/firebreak/receiver-secrets/slack-users.yaml",
		"FIREBREAK_PAGERDUTY_WEBHOOK_SECRET_FILE": "/etc/firebreak/receiver-secrets/pagerduty-webhook-secret",
	} {
		if env[k] != v {
			t.Errorf("notifier: %s=%q, want %q", k, env[k], v)
		}
	}
	paths := objs.ingresses[0].Spec.Rules[0].HTTP.Paths
	for _, p := range []string{"/v1/slack/interactions", "/v1/pagerduty/webhook"} {
		found := false
		for _, ip := range paths {
			if ip.Path == p && ip.Backend.Service.Name == "fb-firebreak-notifier" && ip.Backend.Service.Port.Name == "http" {
				found = true
			}
		}
		if !found {
			t.Errorf("the Ingress does not route %s to the notifier's http port", p)
		}
	}
	if !ingressAllowed(objs.netpols, "notifier", "ingress-nginx") {
		t.Error("the notifier's NetworkPolicy does not let the ingress controller in for the callbacks")
	}

	off := decode(t, []byte(mustRender(t, consoleBehindIngress).Manifest))
	if routed(off.ingresses[0].Spec.Rules[0].HTTP.Paths, "/v1/slack/interactions") || ingressAllowed(off.netpols, "notifier", "ingress-nginx") {
		t.Error("with the callbacks off, the notifier is reachable through the Ingress")
	}
	if _, err := render(t, "receivers:\n  secrets: {s: x}\n  callbacks: {slackSigningSecretKey: s}\n"); err == nil || !strings.Contains(err.Error(), "slackUsersKey") {
		t.Errorf("Slack's signing secret without the users file: %v, want a refusal naming slackUsersKey", err)
	}
}
