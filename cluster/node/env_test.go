package main

// A container's environment as the node resolves it (resolveEnv, valueFrom, field,
// expandVars) and the API server's address split for KUBERNETES_SERVICE_* (splitHost).

import (
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envPod is pod app-0 in dash, at 127.0.100.15, with the Secrets and ConfigMaps its env
// refers to (and a Secret of the same name in another namespace, which it must not see).
func envPod(t *testing.T) *podRun {
	p := testProvider(t,
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "dash", Name: "creds"},
			Data:       map[string][]byte{"user": []byte("admin"), "pass": []byte("s3cret"), "raw": []byte("$(A)")},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "elsewhere"},
			Data:       map[string][]byte{"user": []byte("intruder")},
		},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "dash", Name: "settings"},
			Data:       map[string]string{"mode": "fast", "url": "http://db:5432"},
			BinaryData: map[string][]byte{"blob": {0x41, 0x42}},
		},
	)
	pod := testPod("dash", "app-0", map[string]string{"app": "web", "tier": "front"})
	pod.UID = "0d9e-uid"
	pod.Annotations = map[string]string{"note": "hello"}
	pod.Spec.NodeName = "lifeboat-node"
	pod.Spec.ServiceAccountName = "runner"
	return testRun(p, pod, "127.0.100.15", corev1.PodRunning, nil, nil)
}

func secretKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional,
	}}
}

func configMapKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: &optional,
	}}
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
}

func TestResolveEnv(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		start   map[string]string // what the env holds before (the image's, HOSTNAME, ...)
		from    []corev1.EnvFromSource
		env     []corev1.EnvVar
		want    map[string]string // the whole env after
		wantErr string            // or the error it fails with
	}{
		{
			name:  "envFrom with a prefix, then env in order",
			start: map[string]string{"HOSTNAME": "app-0"},
			from: []corev1.EnvFromSource{
				{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			},
			env: []corev1.EnvVar{
				{Name: "A", Value: "1"},
				{Name: "B", Value: "$(A)-$(CFG_mode)@$(HOSTNAME)"},
				{Name: "C", Value: "x$(UNKNOWN)y"},
				{Name: "D", Value: "$(LATER)"}, // defined below: not yet
				{Name: "LATER", Value: "2"},
				{Name: "user", Value: "override-$(user)"}, // env wins over envFrom
			},
			want: map[string]string{
				"HOSTNAME": "app-0",
				"CFG_mode": "fast", "CFG_url": "http://db:5432", "CFG_blob": "AB",
				"user": "override-admin", "pass": "s3cret", "raw": "$(A)",
				"A": "1", "B": "1-fast@app-0", "C": "x$(UNKNOWN)y", "D": "$(LATER)", "LATER": "2",
			},
		},
		{
			name: "a later envFrom overwrites an earlier one's key",
			from: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
				{Prefix: "X_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
			},
			env: []corev1.EnvVar{{Name: "mode", Value: "slow"}},
			want: map[string]string{
				"user": "admin", "pass": "s3cret", "raw": "$(A)", "mode": "slow", "url": "http://db:5432", "blob": "AB",
				"X_user": "admin", "X_pass": "s3cret", "X_raw": "$(A)",
			},
		},
		{
			name: "missing optional envFrom: skipped",
			from: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nosuch"}, Optional: &yes}},
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nosuch"}, Optional: &yes}},
			},
			env:  []corev1.EnvVar{{Name: "A", Value: "1"}},
			want: map[string]string{"A": "1"},
		},
		{
			name: "missing required envFrom ConfigMap",
			from: []corev1.EnvFromSource{
				{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nosuch"}, Optional: &no}},
			},
			wantErr: `envFrom: configmap "nosuch" not found`,
		},
		{
			name: "missing envFrom Secret, optional: false",
			from: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nosuch"}, Optional: &no}},
			},
			wantErr: `envFrom: secret "nosuch" not found`,
		},
		{
			name: "envFrom Secret of another namespace",
			from: []corev1.EnvFromSource{
				{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "elsewhere"}}},
			},
			wantErr: `envFrom: secret "elsewhere" not found`,
		},
		{
			name: "Secret and ConfigMap keys; values from them are not expanded",
			env: []corev1.EnvVar{
				{Name: "A", Value: "1"},
				{Name: "PASSWORD", ValueFrom: secretKey("creds", "pass", false)},
				{Name: "RAW", ValueFrom: secretKey("creds", "raw", false)},
				{Name: "MODE", ValueFrom: configMapKey("settings", "mode", false)},
				{Name: "BLOB", ValueFrom: configMapKey("settings", "blob", false)},
				{Name: "DSN", Value: "$(MODE)://$(PASSWORD)"},
			},
			want: map[string]string{"A": "1", "PASSWORD": "s3cret", "RAW": "$(A)", "MODE": "fast", "BLOB": "AB", "DSN": "fast://s3cret"},
		},
		{
			name:  "optional keys that are not there: not set",
			start: map[string]string{"KEEP": "k"},
			env: []corev1.EnvVar{
				{Name: "NOKEY", ValueFrom: secretKey("creds", "nokey", true)},
				{Name: "NOSECRET", ValueFrom: secretKey("nosuch", "user", true)},
				{Name: "NOCMKEY", ValueFrom: configMapKey("settings", "nokey", true)},
				{Name: "NOCM", ValueFrom: configMapKey("nosuch", "mode", true)},
				{Name: "KEEP", ValueFrom: secretKey("creds", "nokey", true)}, // nor overwritten
			},
			want: map[string]string{"KEEP": "k"},
		},
		{
			name:    "required Secret key missing",
			env:     []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "TOKEN", ValueFrom: secretKey("creds", "token", false)}},
			wantErr: `env TOKEN: Secret creds has no key "token"`,
		},
		{
			name:    "required Secret missing",
			env:     []corev1.EnvVar{{Name: "TOKEN", ValueFrom: secretKey("nosuch", "token", false)}},
			wantErr: `env TOKEN: secret "nosuch" not found`,
		},
		{
			name:    "required Secret of another namespace",
			env:     []corev1.EnvVar{{Name: "U", ValueFrom: secretKey("elsewhere", "user", false)}},
			wantErr: `env U: secret "elsewhere" not found`,
		},
		{
			name:    "required ConfigMap key missing",
			env:     []corev1.EnvVar{{Name: "LEVEL", ValueFrom: configMapKey("settings", "level", false)}},
			wantErr: `env LEVEL: ConfigMap settings has no key "level"`,
		},
		{
			name:    "required ConfigMap missing",
			env:     []corev1.EnvVar{{Name: "LEVEL", ValueFrom: configMapKey("nosuch", "level", false)}},
			wantErr: `env LEVEL: configmap "nosuch" not found`,
		},
		{
			name: "no Optional given means required",
			env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "nokey",
			}}}},
			wantErr: `env X: Secret creds has no key "nokey"`,
		},
		{
			name: "downward API",
			env: []corev1.EnvVar{
				{Name: "POD_IP", ValueFrom: fieldRef("status.podIP")},
				{Name: "POD_IPS", ValueFrom: fieldRef("status.podIPs")},
				{Name: "HOST_IP", ValueFrom: fieldRef("status.hostIP")},
				{Name: "NAME", ValueFrom: fieldRef("metadata.name")},
				{Name: "NS", ValueFrom: fieldRef("metadata.namespace")},
				{Name: "UID", ValueFrom: fieldRef("metadata.uid")},
				{Name: "NODE", ValueFrom: fieldRef("spec.nodeName")},
				{Name: "SA", ValueFrom: fieldRef("spec.serviceAccountName")},
				{Name: "APP", ValueFrom: fieldRef("metadata.labels['app']")},
				{Name: "NOTE", ValueFrom: fieldRef("metadata.annotations['note']")},
				{Name: "ABSENT", ValueFrom: fieldRef("metadata.labels['absent']")},
				{Name: "URL", Value: "http://$(POD_IP):8080/$(NS)"},
			},
			want: map[string]string{
				"POD_IP": "127.0.100.15", "POD_IPS": "127.0.100.15", "HOST_IP": "127.0.0.1",
				"NAME": "app-0", "NS": "dash", "UID": "0d9e-uid", "NODE": "lifeboat-node", "SA": "runner",
				"APP": "web", "NOTE": "hello", "ABSENT": "", "URL": "http://127.0.100.15:8080/dash",
			},
		},
		{
			name:    "unsupported field",
			env:     []corev1.EnvVar{{Name: "GEN", ValueFrom: fieldRef("metadata.generation")}},
			wantErr: "env GEN: field metadata.generation is not supported",
		},
		{
			name: "unsupported source",
			env: []corev1.EnvVar{{Name: "CPU", ValueFrom: &corev1.EnvVarSource{
				ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"},
			}}},
			wantErr: "env CPU: only Secret, ConfigMap and field references are supported",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := envPod(t)
			env := maps.Clone(tc.start)
			if env == nil {
				env = map[string]string{}
			}
			err := r.resolveEnv(corev1.Container{Name: "c", EnvFrom: tc.from, Env: tc.env}, env)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(env, tc.want) {
				t.Errorf("env:\n%s\nwant:\n%s", envText(env), envText(tc.want))
			}
		})
	}
}

// field reads labels through the pod's lock, so it sees what UpdatePod changed.
func TestFieldAfterUpdate(t *testing.T) {
	r := envPod(t)
	updated := testPod("dash", "app-0", map[string]string{"app": "api"})
	updated.Annotations = map[string]string{"note": "bye"}
	r.update(updated)
	for path, want := range map[string]string{"metadata.labels['app']": "api", "metadata.annotations['note']": "bye"} {
		if got, err := r.field(path); err != nil || got != want {
			t.Errorf("field(%s) = %q, %v; want %q", path, got, err, want)
		}
	}
	// Half a selector is not one.
	for _, path := range []string{"metadata.labels", "metadata.labels['app'", "metadata.labels[app]", "status.phase"} {
		if got, err := r.field(path); err == nil || err.Error() != "field "+path+" is not supported" {
			t.Errorf("field(%s) = %q, %v; want not supported", path, got, err)
		}
	}
}

func TestExpandVars(t *testing.T) {
	env := map[string]string{"A": "1", "B": "two", "EMPTY": "", "PATHS": "/x:/y"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"$(A)", "1"},
		{"$(A)$(B)", "1two"},
		{"x$(A)y$(B)z", "x1ytwoz"},
		{"[$(EMPTY)]", "[]"},
		{"$(PATHS):/z", "/x:/y:/z"},
		{"$(UNKNOWN)", "$(UNKNOWN)"},
		{"$(A)-$(UNKNOWN)-$(B)", "1-$(UNKNOWN)-two"},
		{"$A ${A} $", "$A ${A} $"},
		{"$(A", "$(A"},
		{"$()", "$()"},
		{"cost: 5$", "cost: 5$"},
	} {
		if got := expandVars(tc.in, env); got != tc.want {
			t.Errorf("expandVars(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitHost(t *testing.T) {
	for _, tc := range []struct{ url, host, port string }{
		{"https://127.0.0.1:6443", "127.0.0.1", "6443"},
		{"http://10.0.0.1:8080", "10.0.0.1", "8080"},
		{"https://api.local", "api.local", "443"},
		{"127.0.0.1:6443", "127.0.0.1", "6443"},
		{"api.local", "api.local", "443"},
		{"https://[::1]:6443", "::1", "6443"},
	} {
		host, port := splitHost(tc.url)
		if host != tc.host || port != tc.port {
			t.Errorf("splitHost(%q) = %q, %q; want %q, %q", tc.url, host, port, tc.host, tc.port)
		}
	}
}

// envText lists an env sorted, so two listings compare by eye.
func envText(env map[string]string) string {
	lines := make([]string, 0, len(env))
	for k, v := range env {
		lines = append(lines, k+"="+v)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
