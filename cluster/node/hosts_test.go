package main

// The pods' /etc/hosts: the node's stand-in for cluster DNS (hosts, writeHosts).

import (
	"io"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func service(namespace, name string, selector map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:       corev1.ServiceSpec{Selector: selector, ClusterIP: "10.96.0.1"},
	}
}

// hostsCluster is two namespaces' pods and Services on one node; it returns the pods by
// name.
func hostsCluster(t *testing.T) (*Provider, map[string]*podRun) {
	p := testProvider(t,
		service("dash", "db", map[string]string{"app": "db"}),
		service("dash", "external", nil), // no selector: endpoints kept by hand, skipped
		service("dash", "nomatch", map[string]string{"app": "none"}),
		service("dash", "web", map[string]string{"app": "web"}),
		service("dash", "web-canary", map[string]string{"app": "web", "track": "canary"}),
		service("other", "api", map[string]string{"app": "api"}),
		service("other", "web", map[string]string{"app": "web"}), // the web pods are in dash
	)
	ready := []cs{{name: "c", running: true, ready: true}}
	notReady := []cs{{name: "c", running: true}}
	runs := map[string]*podRun{}
	add := func(namespace, name, ip, hostname, subdomain string, labels map[string]string, conts []cs) {
		pod := testPod(namespace, name, labels)
		pod.Spec.Hostname, pod.Spec.Subdomain = hostname, subdomain
		r := testRun(p, pod, ip, corev1.PodRunning, nil, conts)
		addRun(p, r)
		runs[name] = r
	}
	add("dash", "client", "127.0.100.20", "client", "", map[string]string{"app": "client"}, ready)
	add("dash", "web-0", "127.0.100.11", "", "", map[string]string{"app": "web"}, notReady)
	add("dash", "web-1", "127.0.100.12", "", "", map[string]string{"app": "web", "tier": "front"}, ready)
	add("dash", "db-0", "127.0.100.13", "db-0", "db", map[string]string{"app": "db"}, notReady)
	add("dash", "db-1", "127.0.100.10", "db-1", "db", map[string]string{"app": "db"}, nil)
	add("other", "api-0", "127.0.100.14", "api-0", "api", map[string]string{"app": "api"}, ready)
	return p, runs
}

const hostsHeader = "# Written by lifeboat-node: the cluster's names (its DNS stand-in).\n127.0.0.1\tlocalhost\n"

// The pods' own names under their Services (hostname and subdomain set): ready pods first
// (api-0), then by IP (db-1 before db-0).
const hostsPods = "127.0.100.14\tapi-0.api.other.svc api-0.api.other.svc.cluster.local\n" +
	"127.0.100.10\tdb-1.db.dash.svc db-1.db.dash.svc.cluster.local\n" +
	"127.0.100.13\tdb-0.db.dash.svc db-0.db.dash.svc.cluster.local\n"

func TestHosts(t *testing.T) {
	for _, tc := range []struct {
		name, pod, want string
	}{
		{
			name: "from dash: its own Services by short name too",
			pod:  "client",
			want: hostsHeader + "127.0.100.20\tclient\n" + hostsPods +
				// db: neither pod is ready, so the lower IP; web: the ready pod, not the lower IP.
				"127.0.100.10\tdb db.dash db.dash.svc db.dash.svc.cluster.local\n" +
				"127.0.100.12\tweb web.dash web.dash.svc web.dash.svc.cluster.local\n" +
				"127.0.100.14\tapi.other api.other.svc api.other.svc.cluster.local\n",
		},
		{
			name: "from other: dash's Services by namespaced names only",
			pod:  "api-0",
			want: hostsHeader + "127.0.100.14\tapi-0\n" + hostsPods +
				"127.0.100.10\tdb.dash db.dash.svc db.dash.svc.cluster.local\n" +
				"127.0.100.12\tweb.dash web.dash.svc web.dash.svc.cluster.local\n" +
				"127.0.100.14\tapi api.other api.other.svc api.other.svc.cluster.local\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, runs := hostsCluster(t)
			if got := string(p.hosts(runs[tc.pod])); got != tc.want {
				t.Errorf("hosts:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A Service's name follows readiness: when both web pods are ready, the lower IP wins.
func TestHostsFollowReadiness(t *testing.T) {
	p, runs := hostsCluster(t)
	line := func() string {
		for _, l := range strings.Split(string(p.hosts(runs["client"])), "\n") {
			if strings.HasSuffix(l, "\tweb web.dash web.dash.svc web.dash.svc.cluster.local") {
				return l
			}
		}
		return "(no line for web)"
	}
	if got, want := line(), "127.0.100.12\tweb web.dash web.dash.svc web.dash.svc.cluster.local"; got != want {
		t.Fatalf("before: %q, want %q", got, want)
	}
	c := runs["web-0"].conts[0]
	c.mu.Lock()
	c.ready = true
	c.mu.Unlock()
	if got, want := line(), "127.0.100.11\tweb web.dash web.dash.svc web.dash.svc.cluster.local"; got != want {
		t.Errorf("web-0 ready too: %q, want %q", got, want)
	}
	for _, name := range []string{"web-0", "web-1"} {
		c := runs[name].conts[0]
		c.mu.Lock()
		c.ready = false
		c.mu.Unlock()
	}
	if got, want := line(), "127.0.100.11\tweb web.dash web.dash.svc web.dash.svc.cluster.local"; got != want {
		t.Errorf("neither ready: %q, want %q", got, want)
	}
	// A pod's labels changing (UpdatePod) moves it out of the Service.
	web0 := testPod("dash", "web-0", map[string]string{"app": "web-old"})
	runs["web-0"].update(web0)
	if got, want := line(), "127.0.100.12\tweb web.dash web.dash.svc web.dash.svc.cluster.local"; got != want {
		t.Errorf("web-0 relabelled: %q, want %q", got, want)
	}
}

// A pod alone (not even on the provider's list yet, as while CreatePod prepares it), no
// Services: localhost and its own name.
func TestHostsAlone(t *testing.T) {
	p := testProvider(t)
	r := testRun(p, testPod("dash", "solo", nil), "127.0.100.10", corev1.PodPending, nil, nil)
	want := hostsHeader + "127.0.100.10\tsolo\n"
	if got := string(p.hosts(r)); got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
}

// writeHosts rewrites the file in place (a bind mount follows the inode) and only when its
// text changes.
func TestWriteHostsInPlace(t *testing.T) {
	p, runs := hostsCluster(t)
	r := runs["client"]
	r.dir = t.TempDir()
	if err := p.writeHosts(r); err != nil {
		t.Fatal(err)
	}
	// What a bind mount of the file would see: the inode it was opened at.
	mounted, err := os.Open(r.hostsPath())
	if err != nil {
		t.Fatal(err)
	}
	defer mounted.Close()
	// Unchanged: not written at all.
	past := testStart.Time
	if err := os.Chtimes(r.hostsPath(), past, past); err != nil {
		t.Fatal(err)
	}
	if err := p.writeHosts(r); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(r.hostsPath()); err != nil || !st.ModTime().Equal(past) {
		t.Errorf("unchanged text was written again (%v)", err)
	}
	// A new pod with a name of its own: the file gets its line, same inode.
	pod := testPod("dash", "cache-0", map[string]string{"app": "cache"})
	pod.Spec.Hostname, pod.Spec.Subdomain = "cache-0", "cache"
	addRun(p, testRun(p, pod, "127.0.100.15", corev1.PodRunning, nil, nil))
	if err := p.writeHosts(r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(r.hostsPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\n127.0.100.15\tcache-0.cache.dash.svc cache-0.cache.dash.svc.cluster.local\n") {
		t.Errorf("the new pod's line is not in the file:\n%s", data)
	}
	if string(data) != string(p.hosts(r)) {
		t.Errorf("the file is not what hosts renders:\n%s", data)
	}
	seen, err := io.ReadAll(mounted)
	if err != nil {
		t.Fatal(err)
	}
	if string(seen) != string(data) {
		t.Errorf("the file was replaced, not rewritten in place: the old inode still says\n%s", seen)
	}
}

// Pods of another node (from the API server) are named too, by the IP and readiness the
// API server has; this node's own pods are taken from their runs, not the API's copy, and
// pods that ended or are going are left out.
func TestHostsOtherNodes(t *testing.T) {
	remote := func(name, node, ip string, ready corev1.ConditionStatus, phase corev1.PodPhase, labels map[string]string) *corev1.Pod {
		pod := testPod("dash", name, labels)
		pod.Spec.NodeName = node
		pod.Status.PodIP = ip
		pod.Status.Phase = phase
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
		return pod
	}
	p := testProvider(t,
		service("dash", "cache", map[string]string{"app": "cache"}),
		service("dash", "done", map[string]string{"app": "done"}),
		service("dash", "local", map[string]string{"app": "local"}),
		remote("cache-0", "lifeboat-node-2", "127.0.100.140", corev1.ConditionFalse, corev1.PodRunning, map[string]string{"app": "cache"}),
		remote("cache-1", "lifeboat-node-2", "127.0.100.141", corev1.ConditionTrue, corev1.PodRunning, map[string]string{"app": "cache"}),
		remote("done-0", "lifeboat-node-2", "127.0.100.142", corev1.ConditionFalse, corev1.PodSucceeded, map[string]string{"app": "done"}),
		// The API's copy of this node's own pod: its run is what counts.
		remote("local-0", "lifeboat-node", "127.0.100.99", corev1.ConditionTrue, corev1.PodRunning, map[string]string{"app": "local"}),
	)
	client := testRun(p, testPod("dash", "client", map[string]string{"app": "client"}), "127.0.100.20",
		corev1.PodRunning, nil, []cs{{name: "c", running: true, ready: true}})
	addRun(p, client)
	addRun(p, testRun(p, testPod("dash", "local-0", map[string]string{"app": "local"}), "127.0.100.21",
		corev1.PodRunning, nil, []cs{{name: "c", running: true, ready: true}}))
	got := string(p.hosts(client))
	want := hostsHeader + "127.0.100.20\tclient\n" +
		"127.0.100.141\tcache cache.dash cache.dash.svc cache.dash.svc.cluster.local\n" +
		"127.0.100.21\tlocal local.dash local.dash.svc local.dash.svc.cluster.local\n"
	if got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
}
