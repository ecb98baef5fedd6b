package deploycheck

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// services are Firebreak's six Deployments, by component label.
var services = []string{"ingest", "scorer", "reach", "escalation", "notifier", "console"}

// objects is every object of one rendering, decoded into its API type.
type objects struct {
	deployments     []*appsv1.Deployment
	statefulSets    []*appsv1.StatefulSet
	services        []*corev1.Service
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	netpols         []*networkingv1.NetworkPolicy
	ingresses       []*networkingv1.Ingress
	serviceMonitors []*serviceMonitor
	scaledObjects   []*scaledObject
	prometheusRules []*prometheusRule
}

// prometheusRule is the Prometheus Operator's monitoring.coreos.com/v1
// PrometheusRule, with the rule fields Prometheus's rule files have.
type prometheusRule struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// serviceMonitor is the part of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that the chart uses; decoding into
// it strictly catches a misspelt field without pulling in the operator.
type serviceMonitor struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Selector  metav1LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type metav1LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

// scaledObject is the part of KEDA's keda.sh/v1alpha1 ScaledObject that the
// chart uses, with the nats-jetstream trigger's metadata keys as KEDA
// documents them.
type scaledObject struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace,omitempty"`
		Labels    map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion,omitempty"`
			Kind       string `json:"kind,omitempty"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
		PollingInterval *int32 `json:"pollingInterval,omitempty"`
		CooldownPeriod  *int32 `json:"cooldownPeriod,omitempty"`
		Triggers        []struct {
			Type     string `json:"type"`
			Metadata struct {
				NatsServerMonitoringEndpoint string `json:"natsServerMonitoringEndpoint"`
				Account                      string `json:"account"`
				Stream                       string `json:"stream"`
				Consumer                     string `json:"consumer"`
				LagThreshold                 string `json:"lagThreshold"`
				ActivationLagThreshold       string `json:"activationLagThreshold,omitempty"`
				UseHTTPS                     string `json:"useHttps,omitempty"`
			} `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

// decode splits a multi-document manifest and decodes each object strictly
// (unknown or duplicate fields are errors) into its Go type.
func decode(t *testing.T, manifest []byte) *objects {
	t.Helper()
	objs := &objects{}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("split manifest: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("read kind: %v\n%s", err, doc)
		}
		var target any
		switch head.APIVersion + "/" + head.Kind {
		case "apps/v1/Deployment":
			o := &appsv1.Deployment{}
			objs.deployments, target = append(objs.deployments, o), o
		case "apps/v1/StatefulSet":
			o := &appsv1.StatefulSet{}
			objs.statefulSets, target = append(objs.statefulSets, o), o
		case "v1/Service":
			o := &corev1.Service{}
			objs.services, target = append(objs.services, o), o
		case "v1/ServiceAccount":
			o := &corev1.ServiceAccount{}
			objs.serviceAccounts, target = append(objs.serviceAccounts, o), o
		case "v1/ConfigMap":
			o := &corev1.ConfigMap{}
			objs.configMaps, target = append(objs.configMaps, o), o
		case "v1/Secret":
			o := &corev1.Secret{}
			objs.secrets, target = append(objs.secrets, o), o
		case "policy/v1/PodDisruptionBudget":
			o := &policyv1.PodDisruptionBudget{}
			objs.pdbs, target = append(objs.pdbs, o), o
		case "autoscaling/v2/HorizontalPodAutoscaler":
			o := &autoscalingv2.HorizontalPodAutoscaler{}
			objs.hpas, target = append(objs.hpas, o), o
		case "networking.k8s.io/v1/NetworkPolicy":
			o := &networkingv1.NetworkPolicy{}
			objs.netpols, target = append(objs.netpols, o), o
		case "networking.k8s.io/v1/Ingress":
			o := &networkingv1.Ingress{}
			objs.ingresses, target = append(objs.ingresses, o), o
		case "monitoring.coreos.com/v1/ServiceMonitor":
			o := &serviceMonitor{}
			objs.serviceMonitors, target = append(objs.serviceMonitors, o), o
		case "monitoring.coreos.com/v1/PrometheusRule":
			o := &prometheusRule{}
			objs.prometheusRules, target = append(objs.prometheusRules, o), o
		case "keda.sh/v1alpha1/ScaledObject":
			o := &scaledObject{}
			objs.scaledObjects, target = append(objs.scaledObjects, o), o
		default:
			t.Fatalf("unexpected object %s %s:\n%s", head.APIVersion, head.Kind, doc)
		}
		if err := yaml.UnmarshalStrict(doc, target); err != nil {
			t.Fatalf("decode %s strictly: %v\n%s", head.Kind, err, doc)
		}
	}
	return objs
}

var commentLine = regexp.MustCompile(`(?m)^\s*#.*$`)

func stripComments(doc []byte) []byte { return commentLine.ReplaceAll(doc, nil) }

// expect says what one rendering should contain beyond the common rules.
type expect struct {
	// services that should be deployed (default: all six).
	services []string
	// externalSecrets and externalConfigMaps may be referenced without
	// being rendered: the operator creates them.
	externalSecrets    []string
	externalConfigMaps []string
	pdb                bool
	networkPolicy      bool
	// hpa and keda list the services scaled each way.
	hpa             []string
	keda            []string
	serviceMonitors bool
	// extraWorkloads are non-Firebreak Deployments/StatefulSets (the dev
	// overlay's NATS and Redis); they get the security and resource checks.
	extraWorkloads []string
}

// check applies every rule to one rendering.
func check(t *testing.T, objs *objects, want expect) {
	t.Helper()
	if want.services == nil {
		want.services = services
	}
	byComponent := map[string]*appsv1.Deployment{}
	var extra []string
	for _, d := range objs.deployments {
		c := d.Spec.Template.Labels["app.kubernetes.io/component"]
		if d.Spec.Template.Labels["app.kubernetes.io/part-of"] == "firebreak" && contains(services, c) {
			if byComponent[c] != nil {
				t.Errorf("two Deployments for %s", c)
			}
			byComponent[c] = d
			checkService(t, objs, d, c, want)
		} else {
			extra = append(extra, d.Name)
			checkPodSpec(t, "Deployment "+d.Name, &d.Spec.Template.Spec)
		}
		checkSelector(t, "Deployment "+d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
		checkReferences(t, objs, "Deployment "+d.Name, &d.Spec.Template.Spec, want)
	}
	for _, s := range objs.statefulSets {
		extra = append(extra, s.Name)
		checkPodSpec(t, "StatefulSet "+s.Name, &s.Spec.Template.Spec)
		checkSelector(t, "StatefulSet "+s.Name, s.Spec.Selector.MatchLabels, s.Spec.Template.Labels)
		checkReferences(t, objs, "StatefulSet "+s.Name, &s.Spec.Template.Spec, want)
	}
	var got []string
	for c := range byComponent {
		got = append(got, c)
	}
	if !sameSet(got, want.services) {
		t.Errorf("Firebreak Deployments for %v, want %v", sorted(got), sorted(want.services))
	}
	if !sameSet(extra, want.extraWorkloads) {
		t.Errorf("other workloads %v, want %v", sorted(extra), sorted(want.extraWorkloads))
	}
	if want.serviceMonitors != (len(objs.serviceMonitors) > 0) {
		t.Errorf("%d ServiceMonitors, want them: %v", len(objs.serviceMonitors), want.serviceMonitors)
	}
	for _, sm := range objs.serviceMonitors {
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %s: endpoints %+v, want http /metrics", sm.Metadata.Name, sm.Spec.Endpoints)
		}
		if !selectsAnyDeployment(objs, sm.Spec.Selector.MatchLabels) {
			t.Errorf("ServiceMonitor %s selects no Firebreak Service", sm.Metadata.Name)
		}
	}
	var hpaTargets, kedaTargets []string
	for _, h := range objs.hpas {
		d := findDeployment(objs, h.Spec.ScaleTargetRef.Name)
		if d == nil || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HPA %s targets %s %s, which is not rendered", h.Name, h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name)
			continue
		}
		hpaTargets = append(hpaTargets, d.Spec.Template.Labels["app.kubernetes.io/component"])
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas and is scaled by HPA %s: every upgrade would reset it", d.Name, h.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 1 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
			t.Errorf("HPA %s: min %v max %d", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
	}
	for _, so := range objs.scaledObjects {
		d := findDeployment(objs, so.Spec.ScaleTargetRef.Name)
		if d == nil {
			t.Errorf("ScaledObject %s targets %s, which is not rendered", so.Metadata.Name, so.Spec.ScaleTargetRef.Name)
			continue
		}
		c := d.Spec.Template.Labels["app.kubernetes.io/component"]
		kedaTargets = append(kedaTargets, c)
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas and is scaled by KEDA", d.Name)
		}
		if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
			t.Errorf("ScaledObject %s: triggers %+v, want one nats-jetstream", so.Metadata.Name, so.Spec.Triggers)
			continue
		}
		md := so.Spec.Triggers[0].Metadata
		if !strings.HasPrefix(md.Consumer, c+"-") || !strings.HasPrefix(md.Stream, "FIREBREAK_") || md.NatsServerMonitoringEndpoint == "" || md.LagThreshold == "" {
			t.Errorf("ScaledObject %s: trigger metadata %+v, want stream FIREBREAK_*, consumer %s-<purpose>, endpoint and lagThreshold", so.Metadata.Name, md, c)
		}
	}
	if !sameSet(hpaTargets, want.hpa) {
		t.Errorf("HPAs for %v, want %v", sorted(hpaTargets), sorted(want.hpa))
	}
	if !sameSet(kedaTargets, want.keda) {
		t.Errorf("ScaledObjects for %v, want %v", sorted(kedaTargets), sorted(want.keda))
	}
}

// checkService checks one Firebreak service's Deployment and the objects
// that go with it.
func checkService(t *testing.T, objs *objects, d *appsv1.Deployment, svc string, want expect) {
	t.Helper()
	where := "Deployment " + d.Name
	spec := &d.Spec.Template.Spec
	checkPodSpec(t, where, spec)
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.Contains(c.Image, "/"+svc+":") && !strings.Contains(c.Image, "/"+svc+"@") {
		t.Errorf("%s: image %s is not the %s image", where, c.Image, svc)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["http"] != 8080 || ports["grpc"] != 9090 {
		t.Errorf("%s: ports %v, want http 8080 and grpc 9090", where, ports)
	}
	checkHTTPProbe(t, where+" liveness", c.LivenessProbe, "/healthz")
	checkHTTPProbe(t, where+" readiness", c.ReadinessProbe, "/readyz")
	env := envMap(c.Env)
	if len(env) != len(c.Env) {
		t.Errorf("%s: an environment variable is set twice (the last would win): %v", where, c.Env)
	}
	for _, name := range []string{"FIREBREAK_NATS_URL", "FIREBREAK_SUBJECT_PREFIX", "FIREBREAK_HTTP_ADDR", "FIREBREAK_GRPC_ADDR"} {
		if env[name] == "" {
			t.Errorf("%s: %s not set", where, name)
		}
	}
	if env["FIREBREAK_REDIS_URL"] == "" && env["FIREBREAK_REDIS_ADDRS"] == "" {
		t.Errorf("%s: neither FIREBREAK_REDIS_URL nor FIREBREAK_REDIS_ADDRS set", where)
	}
	switch svc {
	case "escalation":
		if env["FIREBREAK_POLICY_FILE"] == "" {
			t.Errorf("%s: FIREBREAK_POLICY_FILE not set", where)
		}
	case "reach":
		if !regexp.MustCompile(`^([^=,]+=[0-9]+)(,[^=,]+=[0-9]+)*$`).MatchString(env["FIREBREAK_BRAND_FOLLOWERS"]) {
			t.Errorf("%s: FIREBREAK_BRAND_FOLLOWERS=%q, want brand=count[,...]", where, env["FIREBREAK_BRAND_FOLLOWERS"])
		}
	}
	// Every *_FILE setting must name a file under a mounted volume.
	for name, value := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			if strings.HasPrefix(value, strings.TrimSuffix(m.MountPath, "/")+"/") {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: %s=%s is under no volume mount", where, name, value)
		}
	}
	// The kubelet must wait out the service's own drain bound.
	drain := 25 * time.Second
	if v := env["FIREBREAK_SHUTDOWN_TIMEOUT"]; v != "" {
		var err error
		if drain, err = time.ParseDuration(v); err != nil {
			t.Errorf("%s: FIREBREAK_SHUTDOWN_TIMEOUT=%q: %v", where, v, err)
		}
	}
	if spec.TerminationGracePeriodSeconds == nil || time.Duration(*spec.TerminationGracePeriodSeconds)*time.Second <= drain {
		t.Errorf("%s: terminationGracePeriodSeconds %v does not exceed the drain bound %s", where, spec.TerminationGracePeriodSeconds, drain)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken is not false", where)
	}
	found := false
	for _, sa := range objs.serviceAccounts {
		if sa.Name == spec.ServiceAccountName {
			found = true
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount %s: automountServiceAccountToken is not false", sa.Name)
			}
		}
	}
	if !found {
		t.Errorf("%s: ServiceAccount %q is not rendered", where, spec.ServiceAccountName)
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	var svcs []string
	for _, s := range objs.services {
		if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
			svcs = append(svcs, s.Name)
			for _, p := range s.Spec.Ports {
				if p.TargetPort.StrVal != "http" && p.TargetPort.StrVal != "grpc" {
					t.Errorf("Service %s: port %s targets %s, not a named container port", s.Name, p.Name, p.TargetPort.String())
				}
			}
		}
	}
	if len(svcs) != 1 {
		t.Errorf("%s: selected by Services %v, want exactly one", where, svcs)
	}
	if want.pdb != (countSelecting(t, pdbSelectors(objs), podLabels) == 1) {
		t.Errorf("%s: PodDisruptionBudget present is not %v", where, want.pdb)
	}
	if want.networkPolicy != (countSelecting(t, netpolSelectors(objs), podLabels) == 1) {
		t.Errorf("%s: NetworkPolicy present is not %v", where, want.networkPolicy)
	}
	for _, tsc := range spec.TopologySpreadConstraints {
		if tsc.LabelSelector == nil || !labels.SelectorFromSet(tsc.LabelSelector.MatchLabels).Matches(podLabels) {
			t.Errorf("%s: topology spread on %s does not select its own pods", where, tsc.TopologyKey)
		}
	}
	if want.pdb && len(spec.TopologySpreadConstraints) == 0 {
		t.Errorf("%s: no topologySpreadConstraints", where)
	}
}

// restricted is the Pod Security Standard the chart promises.
var restricted = psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}

// checkPodSpec checks what every workload needs, Firebreak's or not: the
// restricted Pod Security Standard as the API server's admission evaluates
// it, the settings the chart promises beyond it, and resources.
func checkPodSpec(t *testing.T, where string, spec *corev1.PodSpec) {
	t.Helper()
	evaluator, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range evaluator.EvaluatePod(restricted, &metav1.ObjectMeta{}, spec) {
		if !r.Allowed {
			t.Errorf("%s: violates the restricted Pod Security Standard: %s: %s", where, r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot and seccomp RuntimeDefault", where, psc)
	}
	if psc != nil && (psc.RunAsUser == nil || *psc.RunAsUser != 65532) {
		t.Errorf("%s: pod runAsUser is not 65532", where)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken is not false", where)
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: uses host namespaces", where)
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		cw := fmt.Sprintf("%s container %s", where, c.Name)
		sc := c.SecurityContext
		if sc == nil {
			t.Errorf("%s: no securityContext", cw)
			continue
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: root filesystem is writable", cw)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", cw)
		}
		if sc.Capabilities == nil || !containsCap(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities %+v, want drop ALL and add none", cw, sc.Capabilities)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", cw)
		}
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Resources.Requests[res]; !ok || q.IsZero() {
				t.Errorf("%s: no %s request", cw, res)
			}
			if q, ok := c.Resources.Limits[res]; !ok || q.IsZero() {
				t.Errorf("%s: no %s limit", cw, res)
			} else if r := c.Resources.Requests[res]; r.Cmp(q) > 0 {
				t.Errorf("%s: %s request %s above limit %s", cw, res, r.String(), q.String())
			}
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil {
			t.Errorf("%s: needs liveness and readiness probes", cw)
		}
		if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(path.Base(c.Image), ":") && !strings.Contains(c.Image, "@") {
			t.Errorf("%s: image %q is not pinned to a tag or digest", cw, c.Image)
		}
	}
}

func checkHTTPProbe(t *testing.T, where string, p *corev1.Probe, wantPath string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: no HTTP probe", where)
		return
	}
	if p.HTTPGet.Path != wantPath || p.HTTPGet.Port.StrVal != "http" {
		t.Errorf("%s: probes %s on port %s, want %s on http", where, p.HTTPGet.Path, p.HTTPGet.Port.String(), wantPath)
	}
	if p.TimeoutSeconds < 1 || p.PeriodSeconds < 1 || p.FailureThreshold < 1 {
		t.Errorf("%s: timeout %d period %d failureThreshold %d", where, p.TimeoutSeconds, p.PeriodSeconds, p.FailureThreshold)
	}
}

// checkReferences checks that every Secret and ConfigMap a pod uses is
// rendered or listed as one the operator provides.
func checkReferences(t *testing.T, objs *objects, where string, spec *corev1.PodSpec, want expect) {
	t.Helper()
	secrets, configMaps := map[string]bool{}, map[string]bool{}
	for _, s := range objs.secrets {
		secrets[s.Name] = true
	}
	for _, c := range objs.configMaps {
		configMaps[c.Name] = true
	}
	for _, s := range want.externalSecrets {
		secrets[s] = true
	}
	for _, c := range want.externalConfigMaps {
		configMaps[c] = true
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil && !secrets[v.Secret.SecretName] {
			t.Errorf("%s: volume %s uses Secret %s, which is neither rendered nor provided", where, v.Name, v.Secret.SecretName)
		}
		if v.ConfigMap != nil && !configMaps[v.ConfigMap.Name] {
			t.Errorf("%s: volume %s uses ConfigMap %s, which is neither rendered nor provided", where, v.Name, v.ConfigMap.Name)
		}
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !secrets[e.ValueFrom.SecretKeyRef.Name] {
				t.Errorf("%s: env %s uses Secret %s, which is neither rendered nor provided", where, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	}
}

func checkSelector(t *testing.T, where string, selector, podLabels map[string]string) {
	t.Helper()
	if len(selector) == 0 || !labels.SelectorFromSet(selector).Matches(labels.Set(podLabels)) {
		t.Errorf("%s: selector %v does not match its pod labels %v", where, selector, podLabels)
	}
}

func pdbSelectors(objs *objects) []map[string]string {
	var out []map[string]string
	for _, p := range objs.pdbs {
		out = append(out, p.Spec.Selector.MatchLabels)
	}
	return out
}

func netpolSelectors(objs *objects) []map[string]string {
	var out []map[string]string
	for _, n := range objs.netpols {
		out = append(out, n.Spec.PodSelector.MatchLabels)
	}
	return out
}

func countSelecting(t *testing.T, selectors []map[string]string, pod labels.Set) int {
	t.Helper()
	n := 0
	for _, s := range selectors {
		if len(s) > 0 && labels.SelectorFromSet(s).Matches(pod) {
			n++
		}
	}
	return n
}

func selectsAnyDeployment(objs *objects, sel map[string]string) bool {
	for _, d := range objs.deployments {
		if len(sel) > 0 && labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			return true
		}
	}
	return false
}

func findDeployment(objs *objects, name string) *appsv1.Deployment {
	for _, d := range objs.deployments {
		if d.Name == name {
			return d
		}
	}
	return nil
}

func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

func containsCap(caps []corev1.Capability, c corev1.Capability) bool {
	for _, v := range caps {
		if v == c {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sameSet(a, b []string) bool {
	return strings.Join(sorted(a), ",") == strings.Join(sorted(b), ",")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
