package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	corev1 "k8s.io/api/core/v1"

	"github.com/firebreak/firebreak/services/platform/broker"
	"github.com/firebreak/firebreak/services/platform/bus"
)

// TestChartNATSAuthorizationIsTheGoTable: the chart's copy of the NATS
// users' permissions is the table the services are built and tested with.
func TestChartNATSAuthorizationIsTheGoTable(t *testing.T) {
	t.Parallel()
	got, err := os.ReadFile(filepath.Join(chartDir, "files", "nats-authorization.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != broker.AuthorizationConfig(bus.Names{Prefix: "firebreak"}) {
		t.Errorf("charts/firebreak/files/nats-authorization.conf differs from the permission table in services/platform/bus; regenerate it: go run ./tools/cmd/natsperms > charts/firebreak/files/nats-authorization.conf")
	}
}

// TestChartGivesEveryServiceItsNATSUser renders the chart with the default
// subject prefix and another one, and with the mentions in one stream and
// in four partitions: the authorization block it renders is the Go table
// for that prefix and count, a NATS server accepts it and gives each
// service exactly the table's permissions, each service runs with the
// count, and logs in as its own user with the password from its own Secret.
func TestChartGivesEveryServiceItsNATSUser(t *testing.T) {
	for _, names := range []bus.Names{{Prefix: "firebreak"}, {Prefix: "acme-fb"}, {Prefix: "acme-fb", Partitions: 4}} {
		prefix := names.Prefix
		t.Run(fmt.Sprintf("%s/%d", prefix, names.MentionPartitions()), func(t *testing.T) {
			objs := decode(t, []byte(mustRender(t, fmt.Sprintf("subjectPrefix: %s\nmentionPartitions: %d\n", prefix, names.MentionPartitions())).Manifest))
			var conf string
			for _, cm := range objs.configMaps {
				if cm.Name == "fb-firebreak-nats-authorization" {
					conf = cm.Data["authorization.conf"]
				}
			}
			if conf != broker.AuthorizationConfig(names) {
				t.Fatalf("the chart's NATS authorization for prefix %s and %d mention partitions is not the Go table's:\n%s", prefix, names.MentionPartitions(), conf)
			}
			// The server reads each password from its environment.
			for _, s := range bus.Services {
				t.Setenv(broker.PasswordVariable(s), "pw-"+s)
			}
			path := filepath.Join(t.TempDir(), "nats.conf")
			if err := os.WriteFile(path, []byte("port: -1\n"+conf), 0o600); err != nil {
				t.Fatal(err)
			}
			opts, err := server.ProcessConfigFile(path)
			if err != nil {
				t.Fatalf("NATS refuses the chart's authorization block: %v", err)
			}
			users := map[string]*server.User{}
			for _, u := range opts.Users {
				users[u.Username] = u
			}
			for _, s := range bus.Services {
				u, want := users[s], mustPermissions(t, names, s)
				if u == nil || u.Password != "pw-"+s || u.Permissions == nil {
					t.Fatalf("user %s: %+v, want the password from %s and permissions", s, u, broker.PasswordVariable(s))
				}
				if !slices.Equal(u.Permissions.Publish.Allow, want.Publish) || !slices.Equal(u.Permissions.Subscribe.Allow, want.Subscribe) {
					t.Errorf("user %s may publish %v and subscribe %v; the table says %v and %v", s,
						u.Permissions.Publish.Allow, u.Permissions.Subscribe.Allow, want.Publish, want.Subscribe)
				}
			}
			if len(users) != len(bus.Services) {
				t.Errorf("%d NATS users, want one per service", len(users))
			}
			secrets := map[string]bool{}
			for _, s := range objs.secrets {
				secrets[s.Name] = len(s.Data["password"]) >= 32
			}
			for _, d := range objs.deployments {
				svc := strings.TrimPrefix(d.Name, "fb-firebreak-")
				env := envMap(d.Spec.Template.Spec.Containers[0].Env)
				if got := env["FIREBREAK_MENTION_PARTITIONS"]; got != fmt.Sprint(names.MentionPartitions()) {
					t.Errorf("%s runs with FIREBREAK_MENTION_PARTITIONS=%q, want %d", d.Name, got, names.MentionPartitions())
				}
				if env["FIREBREAK_NATS_USER"] != svc || env["FIREBREAK_NATS_PASSWORD_FILE"] != "/etc/firebreak/nats-user/password" {
					t.Errorf("%s logs in to NATS as %q with %q, want its own user", d.Name, env["FIREBREAK_NATS_USER"], env["FIREBREAK_NATS_PASSWORD_FILE"])
				}
				secret := ""
				for _, v := range d.Spec.Template.Spec.Volumes {
					if v.Name == "nats-user" && v.Secret != nil {
						secret = v.Secret.SecretName
					}
				}
				if secret != "fb-firebreak-nats-"+svc || !secrets[secret] {
					t.Errorf("%s reads its NATS password from Secret %q, want its own fb-firebreak-nats-%s with a generated password", d.Name, secret, svc)
				}
			}
		})
	}
}

func TestChartNATSUsersOffUsesTheCredentialsFile(t *testing.T) {
	t.Parallel()
	if _, err := render(t, "nats:\n  credentials: creds\n"); err == nil || !strings.Contains(err.Error(), "nats.users.enabled=false") {
		t.Fatalf("users and a credentials file both: err = %v", err)
	}
	objs := decode(t, []byte(mustRender(t, "nats:\n  credentials: creds\n  users:\n    enabled: false\n").Manifest))
	for _, d := range objs.deployments {
		env := envMap(d.Spec.Template.Spec.Containers[0].Env)
		if _, ok := env["FIREBREAK_NATS_USER"]; ok || env["FIREBREAK_NATS_CREDS_FILE"] == "" {
			t.Errorf("%s with nats.users off: %v", d.Name, env)
		}
	}
	for _, cm := range objs.configMaps {
		if strings.HasSuffix(cm.Name, "-nats-authorization") {
			t.Errorf("NATS authorization rendered with nats.users off")
		}
	}
}

func mustPermissions(t *testing.T, names bus.Names, service string) bus.Permission {
	t.Helper()
	p, err := names.Permissions(service)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDevOverlayNATSTakesTheServicesUsers: the dev overlay's NATS server
// includes the chart's authorization block and has every password it names
// from the Secret its service reads.
func TestDevOverlayNATSTakesTheServicesUsers(t *testing.T) {
	objs := decode(t, kustomize(t, filepath.Join(deployDir, "overlays", "dev")))
	dir := t.TempDir()
	for _, cm := range objs.configMaps {
		switch {
		case cm.Name == "nats-config":
			conf := strings.ReplaceAll(cm.Data["nats.conf"], "/data/jetstream", filepath.Join(dir, "js"))
			writeFile(t, filepath.Join(dir, "conf", "nats.conf"), conf)
		case strings.HasSuffix(cm.Name, "-nats-authorization"):
			writeFile(t, filepath.Join(dir, "auth", "authorization.conf"), cm.Data["authorization.conf"])
		}
	}
	passwords := map[string]string{} // Secret name -> password
	for _, s := range objs.secrets {
		if p, ok := s.Data["password"]; ok {
			passwords[s.Name] = string(p)
		}
	}
	var nats *corev1.Container
	for _, s := range objs.statefulSets {
		if s.Name == "nats" {
			nats = &s.Spec.Template.Spec.Containers[0]
		}
	}
	if nats == nil {
		t.Fatal("no nats StatefulSet in the dev overlay")
	}
	for _, e := range nats.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			t.Setenv(e.Name, passwords[e.ValueFrom.SecretKeyRef.Name])
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "conf", "nats.conf"))
	if err != nil {
		t.Fatalf("the dev NATS configuration: %v", err)
	}
	users := map[string]string{}
	for _, u := range opts.Users {
		users[u.Username] = u.Password
	}
	checked := 0
	for _, d := range objs.deployments {
		if !strings.HasPrefix(d.Name, "firebreak-") {
			continue // the dev Redis
		}
		checked++
		svc := envMap(d.Spec.Template.Spec.Containers[0].Env)["FIREBREAK_NATS_USER"]
		var secret string
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "nats-user" && v.Secret != nil {
				secret = v.Secret.SecretName
			}
		}
		if svc == "" || users[svc] == "" || users[svc] != passwords[secret] {
			t.Errorf("%s logs in as %q with the password in %s, which the dev NATS server does not accept", d.Name, svc, secret)
		}
	}
	if checked != len(bus.Services) {
		t.Errorf("checked %d services, want %d", checked, len(bus.Services))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
