// Package packaging holds no code: its tests hold the deployment files to account (the
// Kubernetes manifests decoded strictly into the API's own types, the Compose file, the
// Prometheus rules under promtool).
//
// Room: a test suite (see docs/architecture.md). It has no code outside its tests, which may
// import any package; nothing imports it.
package packaging

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// decodeManifest decodes one YAML document strictly into the Kubernetes type its apiVersion
// and kind name: an unknown or misspelt field, a wrong type or a duplicate key is an error.
func decodeManifest(doc []byte) (any, error) {
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "batch/v1 CronJob":
		obj = &batchv1.CronJob{}
	default:
		return nil, fmt.Errorf("apiVersion %q kind %q: not a type this test knows", tm.APIVersion, tm.Kind)
	}
	if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// splitDocs splits a multi-document YAML file, dropping empty documents.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

func TestDecodeManifestRejectsTypos(t *testing.T) {
	good := "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: 8080}]\n"
	if _, err := decodeManifest([]byte(good)); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
	for name, doc := range map[string]string{
		"misspelt field": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  prots: [{port: 8080}]\n",
		"wrong type":     "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports: [{port: eighty}]\n",
		"duplicate key":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n",
		"unknown kind":   "apiVersion: v1\nkind: Servcie\nmetadata: {name: x}\n",
		"probe typo": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: c
          image: i
          livenesProbe: {httpGet: {path: /healthz, port: 8080}}
`,
	} {
		if _, err := decodeManifest([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// podChecks are what every workload must get right: non-root, only CAP_NET_RAW added, secrets
// as read-only files that the *_FILE variables point into, no secret value in the env.
func podChecks(t *testing.T, where string, spec corev1.PodSpec, secrets map[string]bool, configMaps map[string]bool) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod must run as non-root with a non-zero runAsUser", where)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the agent needs no Kubernetes API token: automountServiceAccountToken: false", where)
	}
	secretVols := map[string]bool{}
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil:
			secretVols[v.Name] = true
			if !secrets[v.Secret.SecretName] {
				t.Errorf("%s: volume %s: no Secret %q among the manifests", where, v.Name, v.Secret.SecretName)
			}
		case v.ConfigMap != nil:
			if !configMaps[v.ConfigMap.Name] {
				t.Errorf("%s: volume %s: no ConfigMap %q among the manifests", where, v.Name, v.ConfigMap.Name)
			}
		}
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", where, len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_RAW"}) {
		t.Errorf("%s: capabilities must drop ALL and add only NET_RAW: %+v", where, sc)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation must be false", where)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem must be true", where)
	}
	secretMounts := []string{}
	for _, m := range c.VolumeMounts {
		if secretVols[m.Name] {
			if !m.ReadOnly {
				t.Errorf("%s: secret volume %s mounted writable", where, m.Name)
			}
			secretMounts = append(secretMounts, m.MountPath+"/")
		}
	}
	files := 0
	for _, e := range c.Env {
		upper := strings.ToUpper(e.Name)
		if strings.HasSuffix(upper, "_FILE") {
			files++
			if !slices.ContainsFunc(secretMounts, func(p string) bool { return strings.HasPrefix(e.Value, p) }) {
				t.Errorf("%s: %s=%s is not a file in a mounted Secret %v", where, e.Name, e.Value, secretMounts)
			}
			continue
		}
		for _, s := range []string{"TOKEN", "SECRET", "KEY", "PASSWORD"} {
			if strings.Contains(upper, s) {
				t.Errorf("%s: env %s carries a secret in the environment: use %s_FILE", where, e.Name, e.Name)
			}
		}
	}
	if files == 0 || !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "NETBOX_TOKEN_FILE" }) {
		t.Errorf("%s: NETBOX_TOKEN_FILE not set", where)
	}
}

// TestKubernetesManifests decodes every manifest strictly into k8s.io/api types, then checks
// what the issue asks of them: a CronJob for --run-once, a Deployment + Service for HTTP MCP
// with probes on /healthz and /readyz, secrets mounted as files, non-root, only NET_RAW.
func TestKubernetesManifests(t *testing.T) {
	paths, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var objs []any
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(b) {
			obj, err := decodeManifest(doc)
			if err != nil {
				t.Errorf("%s, document %d: %v", p, i+1, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	secrets, configMaps, pvcs := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var deploys []*appsv1.Deployment
	var crons []*batchv1.CronJob
	var services []*corev1.Service
	for _, o := range objs {
		switch x := o.(type) {
		case *corev1.Secret:
			secrets[x.Name] = true
		case *corev1.ConfigMap:
			configMaps[x.Name] = true
			if _, ok := x.Data["config.yaml"]; !ok {
				t.Errorf("ConfigMap %s has no config.yaml", x.Name)
			}
		case *corev1.PersistentVolumeClaim:
			pvcs[x.Name] = true
		case *appsv1.Deployment:
			deploys = append(deploys, x)
		case *batchv1.CronJob:
			crons = append(crons, x)
		case *corev1.Service:
			services = append(services, x)
		}
	}
	if len(deploys) != 1 || len(crons) != 1 || len(services) != 1 {
		t.Fatalf("want one Deployment, one CronJob, one Service; got %d, %d, %d", len(deploys), len(crons), len(services))
	}
	d := deploys[0]
	podChecks(t, "Deployment "+d.Name, d.Spec.Template.Spec, secrets, configMaps)
	c := d.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("Deployment: liveness probe must GET /healthz: %+v", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("Deployment: readiness probe must GET /readyz: %+v", c.ReadinessProbe)
	}
	if !slices.Contains(c.Args, "--http") {
		t.Errorf("Deployment: args %v do not serve HTTP", c.Args)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "MCP_TOKEN_FILE" }) {
		t.Error("Deployment listens beyond loopback: MCP_TOKEN_FILE is required")
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil && !pvcs[v.PersistentVolumeClaim.ClaimName] {
			t.Errorf("Deployment: volume %s: no PersistentVolumeClaim %q", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	s := services[0]
	for k, v := range s.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service selector %s=%s does not select the Deployment's pods (%v)", k, v, d.Spec.Template.Labels)
		}
	}
	for _, p := range s.Spec.Ports {
		if !slices.ContainsFunc(c.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == p.TargetPort.StrVal || cp.ContainerPort == p.TargetPort.IntVal
		}) {
			t.Errorf("Service port %s targets %s, which the container does not expose", p.Name, p.TargetPort.String())
		}
	}
	cj := crons[0]
	podChecks(t, "CronJob "+cj.Name, cj.Spec.JobTemplate.Spec.Template.Spec, secrets, configMaps)
	if !slices.Contains(cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, "--run-once") {
		t.Error("CronJob does not run --run-once")
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("CronJob concurrencyPolicy %q: two runs of one instance must not overlap", cj.Spec.ConcurrencyPolicy)
	}
}

// compose is the part of the Compose specification compose.yaml uses; decoding with known
// fields only makes a misspelt key an error.
type compose struct {
	Name     string `yaml:"name"`
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Restart     string            `yaml:"restart"`
		User        string            `yaml:"user"`
		ReadOnly    bool              `yaml:"read_only"`
		CapDrop     []string          `yaml:"cap_drop"`
		CapAdd      []string          `yaml:"cap_add"`
		SecurityOpt []string          `yaml:"security_opt"`
		Environment map[string]string `yaml:"environment"`
		Secrets     []string          `yaml:"secrets"`
		Volumes     []string          `yaml:"volumes"`
		Tmpfs       []string          `yaml:"tmpfs"`
		Ports       []string          `yaml:"ports"`
		Healthcheck struct {
			Test        []string `yaml:"test"`
			Interval    string   `yaml:"interval"`
			Timeout     string   `yaml:"timeout"`
			Retries     int      `yaml:"retries"`
			StartPeriod string   `yaml:"start_period"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
	Volumes map[string]struct{} `yaml:"volumes"`
}

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c compose
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	svc, ok := c.Services["netbox-agent"]
	if !ok {
		t.Fatal("compose.yaml: no netbox-agent service")
	}
	if !slices.Contains(svc.Command, "--http") {
		t.Errorf("command %v does not serve HTTP MCP", svc.Command)
	}
	if svc.User == "" || strings.HasPrefix(svc.User, "0") || svc.User == "root" {
		t.Errorf("user %q: run as non-root", svc.User)
	}
	if !slices.Equal(svc.CapDrop, []string{"ALL"}) {
		t.Errorf("cap_drop %v, want [ALL]", svc.CapDrop)
	}
	for _, s := range svc.Secrets {
		if _, ok := c.Secrets[s]; !ok || c.Secrets[s].File == "" {
			t.Errorf("secret %s is not a file secret", s)
		}
	}
	for k, v := range svc.Environment {
		if !strings.HasSuffix(k, "_FILE") {
			t.Errorf("environment %s: only *_FILE variables belong here (secrets as files)", k)
			continue
		}
		name := strings.TrimPrefix(v, "/run/secrets/")
		if !slices.Contains(svc.Secrets, name) {
			t.Errorf("environment %s=%s: not a secret of the service", k, v)
		}
	}
	for _, want := range []string{"NETBOX_TOKEN_FILE", "MCP_TOKEN_FILE"} {
		if _, ok := svc.Environment[want]; !ok {
			t.Errorf("environment lacks %s", want)
		}
	}
	if !strings.Contains(strings.Join(svc.Healthcheck.Test, " "), "/readyz") {
		t.Errorf("healthcheck %v does not probe /readyz", svc.Healthcheck.Test)
	}
	for _, p := range svc.Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("port %s published beyond the host's loopback", p)
		}
	}
}

// TestPromtoolRules runs `promtool test rules` on the alert and recording rules (and `check
// rules` first). Without promtool it skips, except under CI=true, where CI installs it (Debian:
// apt-get install prometheus).
func TestPromtoolRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool not found under CI=true: install it (Debian: apt-get install prometheus)")
		}
		t.Skip("promtool not found (Debian: apt-get install prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "netbox-agent.rules.yml"},
		{"test", "rules", "netbox-agent.rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) || err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
	}
}
