package main

// What the tests share: a Provider whose listers are real client-go listers over in-memory
// indexers (what virtual-kubelet's informers would fill), and pods and containers in a
// given state, built without starting anything.

import (
	"testing"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// testProvider is a Provider whose Services, Secrets, ConfigMaps and cluster-wide Pods
// listers hold `objs`.
func testProvider(t *testing.T, objs ...any) *Provider {
	t.Helper()
	indexer := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	services, secrets, configMaps, pods := indexer(), indexer(), indexer(), indexer()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *corev1.Service:
			err = services.Add(o)
		case *corev1.Secret:
			err = secrets.Add(o)
		case *corev1.ConfigMap:
			err = configMaps.Add(o)
		case *corev1.Pod: // a pod of the cluster as the API server has it (any node)
			err = pods.Add(o)
		default:
			t.Fatalf("testProvider: no lister for %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return NewProvider(Config{
		NodeName: "lifeboat-node",
		IPPrefix: "127.0.100.",
		Listers: nodeutil.ProviderConfig{
			Services:   corelisters.NewServiceLister(services),
			Secrets:    corelisters.NewSecretLister(secrets),
			ConfigMaps: corelisters.NewConfigMapLister(configMaps),
		},
		AllPods: corelisters.NewPodLister(pods),
	})
}

// testStart is the start time the test pods report.
var testStart = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))

// cs says what state a test container is in.
type cs struct {
	name     string
	running  bool // its state is Running (else Waiting, ContainerCreating)
	ready    bool // its readiness flag (what the probe, or start, set)
	restarts int32
}

// testRun is a pod in `phase` with the given init containers and containers, not started.
func testRun(p *Provider, pod *corev1.Pod, ip string, phase corev1.PodPhase, inits, conts []cs) *podRun {
	for _, c := range inits {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: c.name, Image: "busybox:1"})
	}
	for _, c := range conts {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c.name, Image: "postgres:15"})
	}
	r := newPodRun(p, pod, ip)
	r.phase = phase
	r.started = testStart
	set := func(runs []*containerRun, states []cs) {
		for i, s := range states {
			if s.running {
				runs[i].state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: testStart}}
			}
			runs[i].ready = s.ready
			runs[i].restarts = s.restarts
		}
	}
	set(r.inits, inits)
	set(r.conts, conts)
	return r
}

// testPod is a pod named `name` in `namespace` with `labels`.
func testPod(namespace, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Namespace: namespace, Name: name, UID: types.UID("uid-" + name), Labels: labels,
	}}
}

// addRun puts a pod on the provider (what CreatePod does, without starting it).
func addRun(p *Provider, r *podRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pods[key(r.pod.Namespace, r.pod.Name)] = r
	p.ips[r.ip] = key(r.pod.Namespace, r.pod.Name)
}
