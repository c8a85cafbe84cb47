package main

// The pod and container status the node reports to the API server (snapshot, status) and
// the readiness /etc/hosts orders pods by (isReady).

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestContainerStatus(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: testStart}}
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	crashLoop := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	exited := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	for _, tc := range []struct {
		name        string
		state, last corev1.ContainerState
		ready       bool
		restarts    int32
		wantReady   bool
		wantStarted bool
	}{
		{name: "waiting to be created", state: waiting},
		// The flag is set for a container without a probe as soon as it is launched, before
		// its process runs: only a running container is reported ready.
		{name: "ready flag but not running yet", state: waiting, ready: true},
		{name: "running, probe not passed", state: running, wantStarted: true},
		{name: "running and ready", state: running, ready: true, wantReady: true, wantStarted: true},
		{name: "exited with the flag still set", state: exited, ready: true},
		{name: "restarted, waiting in back-off", state: crashLoop, last: exited, restarts: 3},
		{name: "restarted and running again", state: running, last: exited, restarts: 1, ready: true, wantReady: true, wantStarted: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &containerRun{
				spec:  corev1.Container{Name: "db", Image: "postgres:15"},
				state: tc.state, last: tc.last, ready: tc.ready, restarts: tc.restarts,
			}
			got := c.status()
			if got.Name != "db" || got.Image != "postgres:15" {
				t.Errorf("name, image = %q, %q; want db, postgres:15", got.Name, got.Image)
			}
			if got.ImageID != "lifeboat-node://postgres:15" || got.ContainerID != "lifeboat-node://db" {
				t.Errorf("image ID, container ID = %q, %q", got.ImageID, got.ContainerID)
			}
			if got.Ready != tc.wantReady {
				t.Errorf("Ready = %v, want %v", got.Ready, tc.wantReady)
			}
			if got.Started == nil || *got.Started != tc.wantStarted {
				t.Errorf("Started = %v, want %v", ptrText(got.Started), tc.wantStarted)
			}
			if got.RestartCount != tc.restarts {
				t.Errorf("RestartCount = %d, want %d", got.RestartCount, tc.restarts)
			}
			if stateText(got.State) != stateText(tc.state) {
				t.Errorf("State = %s, want %s", stateText(got.State), stateText(tc.state))
			}
			if stateText(got.LastTerminationState) != stateText(tc.last) {
				t.Errorf("LastTerminationState = %s, want %s", stateText(got.LastTerminationState), stateText(tc.last))
			}
		})
	}
}

func TestSnapshot(t *testing.T) {
	T, F := corev1.ConditionTrue, corev1.ConditionFalse
	for _, tc := range []struct {
		name  string
		phase corev1.PodPhase
		inits []cs
		conts []cs
		// Initialized, ContainersReady, Ready (PodScheduled is always True).
		initialized, containersReady, ready corev1.ConditionStatus
	}{
		{name: "no containers, running", phase: corev1.PodRunning,
			initialized: T, containersReady: F, ready: F},
		{name: "just created", phase: corev1.PodPending, conts: []cs{{name: "a"}},
			initialized: F, containersReady: F, ready: F},
		{name: "one of two ready", phase: corev1.PodRunning,
			conts:       []cs{{name: "a", running: true, ready: true}, {name: "b", running: true}},
			initialized: T, containersReady: F, ready: F},
		{name: "all ready", phase: corev1.PodRunning,
			conts:       []cs{{name: "a", running: true, ready: true}, {name: "b", running: true, ready: true}},
			initialized: T, containersReady: T, ready: T},
		{name: "ready flag set, process not running yet", phase: corev1.PodRunning,
			conts:       []cs{{name: "a", ready: true}},
			initialized: T, containersReady: F, ready: F},
		{name: "all ready but pending", phase: corev1.PodPending,
			conts:       []cs{{name: "a", running: true, ready: true}},
			initialized: F, containersReady: F, ready: F},
		// A failed pod is reported not initialized even when its init containers had
		// all succeeded (the kubelet would keep Initialized True).
		{name: "all ready but failed", phase: corev1.PodFailed,
			conts:       []cs{{name: "a", running: true, ready: true}},
			initialized: F, containersReady: F, ready: F},
		{name: "succeeded", phase: corev1.PodSucceeded, conts: []cs{{name: "a"}},
			initialized: T, containersReady: F, ready: F},
		{name: "init container running", phase: corev1.PodPending,
			inits:       []cs{{name: "init", running: true}},
			conts:       []cs{{name: "a"}},
			initialized: F, containersReady: F, ready: F},
		// Init containers' readiness does not count towards the pod's.
		{name: "inits done, containers ready", phase: corev1.PodRunning,
			inits:       []cs{{name: "init-1"}, {name: "init-2"}},
			conts:       []cs{{name: "a", running: true, ready: true}},
			initialized: T, containersReady: T, ready: T},
		{name: "restarting container", phase: corev1.PodRunning,
			conts:       []cs{{name: "a", restarts: 2}, {name: "b", running: true, ready: true}},
			initialized: T, containersReady: F, ready: F},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("dash", "app-0", map[string]string{"app": "web"})
			r := testRun(testProvider(t), pod, "127.0.100.17", tc.phase, tc.inits, tc.conts)
			r.reason, r.message = "SomeReason", "some message"
			got := r.snapshot()
			st := got.Status

			if st.Phase != tc.phase || st.Reason != "SomeReason" || st.Message != "some message" {
				t.Errorf("phase, reason, message = %s, %q, %q", st.Phase, st.Reason, st.Message)
			}
			if st.PodIP != "127.0.100.17" || len(st.PodIPs) != 1 || st.PodIPs[0].IP != "127.0.100.17" {
				t.Errorf("PodIP %q, PodIPs %v; want 127.0.100.17", st.PodIP, st.PodIPs)
			}
			if st.HostIP != "127.0.0.1" || len(st.HostIPs) != 1 || st.HostIPs[0].IP != "127.0.0.1" {
				t.Errorf("HostIP %q, HostIPs %v; want 127.0.0.1", st.HostIP, st.HostIPs)
			}
			if st.StartTime == nil || !st.StartTime.Equal(&testStart) {
				t.Errorf("StartTime = %v, want %v", st.StartTime, testStart)
			}

			wantTypes := []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady}
			wantStatus := []corev1.ConditionStatus{T, tc.initialized, tc.containersReady, tc.ready}
			if len(st.Conditions) != len(wantTypes) {
				t.Fatalf("conditions = %v, want %d of them", st.Conditions, len(wantTypes))
			}
			for i, c := range st.Conditions {
				if c.Type != wantTypes[i] || c.Status != wantStatus[i] {
					t.Errorf("condition %d = %s %s, want %s %s", i, c.Type, c.Status, wantTypes[i], wantStatus[i])
				}
				if !c.LastTransitionTime.Equal(&testStart) {
					t.Errorf("condition %s changed at %v, want the pod's start %v", c.Type, c.LastTransitionTime, testStart)
				}
			}

			checkStatuses := func(what string, got []corev1.ContainerStatus, want []cs) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d statuses, want %d", what, len(got), len(want))
				}
				for i, w := range want {
					g := got[i]
					if g.Name != w.name || g.Ready != (w.ready && w.running) || g.Started == nil ||
						*g.Started != w.running || g.RestartCount != w.restarts {
						t.Errorf("%s %d = %s ready %v started %s restarts %d; want %s ready %v started %v restarts %d",
							what, i, g.Name, g.Ready, ptrText(g.Started), g.RestartCount,
							w.name, w.ready && w.running, w.running, w.restarts)
					}
				}
			}
			checkStatuses("init container", st.InitContainerStatuses, tc.inits)
			checkStatuses("container", st.ContainerStatuses, tc.conts)

			// The snapshot is a copy: the pod the node holds is not changed through it.
			if got == r.pod || r.pod.Status.Phase != "" {
				t.Errorf("snapshot shares or changed the node's pod (its phase now %q)", r.pod.Status.Phase)
			}
			got.Labels["app"] = "changed"
			if r.pod.Labels["app"] != "web" {
				t.Errorf("changing the snapshot's labels changed the pod's: %v", r.pod.Labels)
			}
		})
	}
}

func TestIsReady(t *testing.T) {
	for _, tc := range []struct {
		name  string
		inits []cs
		conts []cs
		want  bool
	}{
		{name: "no containers", want: false},
		{name: "one not ready", conts: []cs{{name: "a", running: true, ready: true}, {name: "b", running: true}}, want: false},
		{name: "all ready", conts: []cs{{name: "a", running: true, ready: true}, {name: "b", running: true, ready: true}}, want: true},
		{name: "init containers do not count", inits: []cs{{name: "i"}}, conts: []cs{{name: "a", running: true, ready: true}}, want: true},
		// isReady reads the flag alone, not whether the process runs (status() needs both).
		{name: "flag set, process not running yet", conts: []cs{{name: "a", ready: true}}, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRun(testProvider(t), testPod("dash", "p", nil), "127.0.100.10", corev1.PodRunning, tc.inits, tc.conts)
			if got := r.isReady(); got != tc.want {
				t.Errorf("isReady() = %v, want %v", got, tc.want)
			}
		})
	}
}

func ptrText(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}

// stateText names a container state and what matters of it here.
func stateText(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running since " + s.Running.StartedAt.UTC().String()
	case s.Terminated != nil:
		return fmt.Sprintf("terminated %s %d", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "waiting " + s.Waiting.Reason
	}
	return "none"
}

// A container without a readiness probe is ready whenever its process runs, after a restart
// too; one with a probe waits for the probe.
func TestStartedIsReadyWithoutAProbe(t *testing.T) {
	plain := &containerRun{spec: corev1.Container{Name: "app"}}
	plain.started(nil)
	if s := plain.status(); !s.Ready || s.State.Running == nil {
		t.Fatalf("first start: ready %v running %v", s.Ready, s.State.Running != nil)
	}
	// What runOnce does when the process ends, then the restart.
	plain.ready = false
	plain.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}
	plain.started(nil)
	if s := plain.status(); !s.Ready {
		t.Fatalf("after a restart a container without a probe must be ready again")
	}
	probed := &containerRun{spec: corev1.Container{Name: "db", ReadinessProbe: &corev1.Probe{}}}
	probed.started(nil)
	if s := probed.status(); s.Ready {
		t.Fatalf("a container with a readiness probe is not ready before the probe passes")
	}
}

// A container's securityContext user and group win over its pod's; unset, neither is
// asked for (the image's user runs it).
func TestRunAs(t *testing.T) {
	p := testProvider(t)
	id := func(v int64) *int64 { return &v }
	pod := testPod("dash", "mover", nil)
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: id(999), RunAsGroup: id(999)}
	r := testRun(p, pod, "127.0.100.30", corev1.PodRunning, nil, []cs{{name: "a"}, {name: "b"}})
	r.conts[1].spec.SecurityContext = &corev1.SecurityContext{RunAsUser: id(0)}
	if u, g := r.runAs(r.conts[0]); u == nil || *u != 999 || g == nil || *g != 999 {
		t.Errorf("from the pod: %v %v", u, g)
	}
	if u, g := r.runAs(r.conts[1]); u == nil || *u != 0 || g == nil || *g != 999 {
		t.Errorf("the container's user, the pod's group: %v %v", u, g)
	}
	plain := testRun(p, testPod("dash", "plain", nil), "127.0.100.31", corev1.PodRunning, nil, []cs{{name: "a"}})
	if u, g := plain.runAs(plain.conts[0]); u != nil || g != nil {
		t.Errorf("nothing asked: %v %v", u, g)
	}
}
