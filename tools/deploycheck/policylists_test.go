package deploycheck

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/firebreak/firebreak/services/escalation/policy"
)

// TestChartMountsPolicyListsBesideThePolicy: list files given as
// policy.lists land in the policy ConfigMap, whole, so the policy's
// relative paths find them, and the policy parses with them.
func TestChartMountsPolicyListsBesideThePolicy(t *testing.T) {
	t.Parallel()
	rel := mustRender(t, `
policy:
  content: |
    lists:
      vip: vip.txt
    routes:
      - name: vip
        match: complaint && author.vip
        team: standard
        priority: HIGH
        reason: a VIP complains
    chains:
      standard:
        levels: [{receivers: [queue], ack_timeout: 30m}]
  lists:
    vip.txt: |
      x:12345
      mastodon:109876
`)
	var data map[string]string
	for _, doc := range strings.Split(rel.Manifest, "\n---") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Kind == "ConfigMap" && obj.Data["policy.yaml"] != "" {
			data = obj.Data
		}
	}
	if data == nil || strings.TrimSpace(data["vip.txt"]) != "x:12345\nmastodon:109876" {
		t.Fatalf("policy ConfigMap data = %q, want policy.yaml and vip.txt", data)
	}
	p, err := policy.ParseWithLists([]byte(data["policy.yaml"]), func(path string) ([]byte, error) { return []byte(data[path]), nil })
	if err != nil || len(p.Lists()) != 1 || p.Lists()[0].Authors != 2 {
		t.Fatalf("the rendered policy with its list: %v", err)
	}
	if strings.Contains(rel.Manifest, "items:\n              - key: policy.yaml") {
		t.Error("the policy volume mounts only policy.yaml, so its lists are not there")
	}
}
