package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func everything() labels.Selector { return labels.Everything() }

// podRun is one pod on this node: its folder, IP and containers.
type podRun struct {
	p        *Provider
	mu       sync.Mutex
	pod      *corev1.Pod
	ip       string
	dir      string
	mounts   map[string]string // volume name -> folder
	phase    corev1.PodPhase
	reason   string
	message  string
	started  metav1.Time
	inits    []*containerRun
	conts    []*containerRun
	stopping bool
	done     chan struct{}
}

// containerRun is one container: its process and what happened to it.
type containerRun struct {
	spec     corev1.Container
	mu       sync.Mutex
	cmd      *exec.Cmd
	state    corev1.ContainerState
	last     corev1.ContainerState
	restarts int32
	ready    bool
	logPath  string
	exited   chan struct{}
}

func newPodRun(p *Provider, pod *corev1.Pod, ip string) *podRun {
	r := &podRun{
		p:       p,
		pod:     pod,
		ip:      ip,
		dir:     filepath.Join(p.cfg.StateDir, "pods", string(pod.UID)),
		mounts:  map[string]string{},
		phase:   corev1.PodPending,
		started: metav1.Now(),
		done:    make(chan struct{}),
	}
	for _, c := range pod.Spec.InitContainers {
		r.inits = append(r.inits, newContainerRun(r, c))
	}
	for _, c := range pod.Spec.Containers {
		r.conts = append(r.conts, newContainerRun(r, c))
	}
	return r
}

func newContainerRun(r *podRun, c corev1.Container) *containerRun {
	return &containerRun{
		spec:    c,
		state:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		logPath: filepath.Join(r.dir, "logs", c.Name+".log"),
		exited:  make(chan struct{}),
	}
}

func (r *podRun) labels() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pod.Labels
}

func (r *podRun) update(pod *corev1.Pod) {
	r.mu.Lock()
	r.pod.Labels = pod.Labels
	r.pod.Annotations = pod.Annotations
	r.mu.Unlock()
}

func (r *podRun) find(name string) *containerRun {
	for _, c := range append(append([]*containerRun{}, r.inits...), r.conts...) {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func (r *podRun) fail(reason, message string) {
	r.mu.Lock()
	r.phase, r.reason, r.message = corev1.PodFailed, reason, message
	r.mu.Unlock()
	log.Printf("pod %s/%s failed: %s: %s", r.pod.Namespace, r.pod.Name, reason, message)
	r.p.publish(r)
}

// start prepares the volumes, runs the init containers in order, then the containers.
func (r *podRun) start(ctx context.Context) {
	defer close(r.done)
	if err := r.prepare(ctx); err != nil {
		r.fail("VolumesNotReady", err.Error())
		return
	}
	r.mu.Lock()
	r.phase = corev1.PodPending
	r.mu.Unlock()
	r.p.publish(r)
	for _, c := range r.inits {
		if r.isStopping() {
			return
		}
		code, err := r.runOnce(ctx, c)
		if err != nil {
			r.fail("InitContainerFailed", err.Error())
			return
		}
		if code != 0 {
			r.fail("InitContainerFailed", fmt.Sprintf("init container %s exited with %d", c.spec.Name, code))
			return
		}
	}
	r.mu.Lock()
	r.phase = corev1.PodRunning
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range r.conts {
		wg.Add(1)
		go func(c *containerRun) {
			defer wg.Done()
			r.supervise(ctx, c)
		}(c)
		if c.spec.ReadinessProbe != nil {
			go r.probe(ctx, c)
		} else {
			c.mu.Lock()
			c.ready = true
			c.mu.Unlock()
		}
	}
	r.p.publish(r)
	wg.Wait()
	r.finish()
}

func (r *podRun) isStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopping
}

// supervise runs a container and restarts it as the pod's restart policy says.
func (r *podRun) supervise(ctx context.Context, c *containerRun) {
	backoff := time.Second
	for {
		code, err := r.runOnce(ctx, c)
		if err != nil {
			c.mu.Lock()
			c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}}
			c.mu.Unlock()
			r.fail("CreateContainerError", err.Error())
			return
		}
		if r.isStopping() {
			return
		}
		policy := r.pod.Spec.RestartPolicy
		if policy == corev1.RestartPolicyNever || (policy == corev1.RestartPolicyOnFailure && code == 0) {
			return
		}
		c.mu.Lock()
		c.restarts++
		c.last = c.state
		c.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		c.mu.Unlock()
		r.p.publish(r)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		if backoff < 30*time.Second {
			backoff *= 2
		}
	}
}

// finish sets the pod's phase once every container ended for good.
func (r *podRun) finish() {
	r.mu.Lock()
	if r.phase != corev1.PodFailed {
		r.phase = corev1.PodSucceeded
		for _, c := range r.conts {
			c.mu.Lock()
			if t := c.state.Terminated; t == nil || t.ExitCode != 0 {
				r.phase = corev1.PodFailed
			}
			c.mu.Unlock()
		}
	}
	r.mu.Unlock()
	r.p.publish(r)
}

// runOnce starts the container's process and waits for it; the exit code, or an error when
// it could not start.
func (r *podRun) runOnce(ctx context.Context, c *containerRun) (int32, error) {
	cmd, err := r.command(ctx, c, nil)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(c.logPath), 0o755); err != nil {
		return 0, err
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	c.started(cmd)
	r.p.publish(r)
	err = cmd.Wait()
	// A container's processes end with its main one (its PID namespace goes with PID 1).
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	code := int32(0)
	reason := "Completed"
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = int32(ee.ExitCode())
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int32(ws.Signal())
			}
			reason = "Error"
		} else {
			code, reason = 1, "Error"
		}
	}
	c.mu.Lock()
	started := metav1.Now()
	if c.state.Running != nil {
		started = c.state.Running.StartedAt
	}
	c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: code, Reason: reason, StartedAt: started, FinishedAt: metav1.Now(),
	}}
	c.ready = false
	c.cmd = nil
	close(c.exited)
	c.mu.Unlock()
	r.p.publish(r)
	return code, nil
}

// started records that the container's process runs: Running, and ready at once when it
// has no readiness probe (as the kubelet does, after a restart too; with a probe, the probe
// says when).
func (c *containerRun) started(cmd *exec.Cmd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cmd = cmd
	c.exited = make(chan struct{})
	c.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	if c.spec.ReadinessProbe == nil {
		c.ready = true
	}
}

// command builds the process of a container (or, with `override`, a command run inside it
// as `kubectl exec` does).
func (r *podRun) command(ctx context.Context, c *containerRun, override []string) (*exec.Cmd, error) {
	image := r.imageSpec(c.spec.Image)
	if image == nil {
		return nil, fmt.Errorf("image %q is not in lifeboat-node's image map", c.spec.Image)
	}
	argv := override
	if argv == nil {
		argv = append([]string{}, c.spec.Command...)
		if len(argv) == 0 {
			argv = append(argv, image.Entrypoint...)
			if len(c.spec.Args) == 0 {
				argv = append(argv, image.Cmd...)
			}
		}
		argv = append(argv, c.spec.Args...)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("container %s has nothing to run", c.spec.Name)
	}
	// Isolated, a container sees its volumes at their mount paths; otherwise paths in its
	// command, environment and working directory are rewritten to the volumes' folders.
	isolated := r.canIsolate()
	rewrite := r.rewriter(c)
	if isolated {
		rewrite = func(s string) string { return s }
	}
	env, err := r.environment(ctx, c, image)
	if err != nil {
		return nil, err
	}
	expand := func(s string) string { return rewrite(expandVars(s, env)) }
	for i := range argv {
		argv[i] = expand(argv[i])
	}
	program, err := lookPath(argv[0], image.Path)
	if err != nil {
		return nil, err
	}
	uid, gid := -1, -1
	var account *user.User
	if image.User != "" {
		u, err := user.Lookup(image.User)
		if err != nil {
			return nil, fmt.Errorf("image %s runs as %s: %w", c.spec.Image, image.User, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		account = u
	}
	// The pod's or container's runAsUser and runAsGroup win over the image's user, as on a
	// real kubelet (the group defaults to the user's own, else 0).
	if id, group := r.runAs(c); id != nil {
		uid, gid = int(*id), 0
		account = nil
		if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
			gid, _ = strconv.Atoi(u.Gid)
			account = u
		}
		if group != nil {
			gid = int(*group)
		}
	}
	workdir := "/"
	if c.spec.WorkingDir != "" {
		workdir = rewrite(c.spec.WorkingDir)
	}
	args := argv[1:]
	if isolated {
		program, args, err = r.isolate(c, program, args, workdir, uid, gid)
		if err != nil {
			return nil, err
		}
		workdir = "/"
	}
	cmd := exec.Command(program, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+rewrite(v))
	}
	cmd.Dir = workdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if uid >= 0 && !isolated {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if account != nil {
		cmd.Env = append(cmd.Env, "HOME="+account.HomeDir, "USER="+account.Username)
	}
	return cmd, nil
}

// runAs is the user and group the container's securityContext (or else its pod's) asks
// to run as, each nil when not set.
func (r *podRun) runAs(c *containerRun) (*int64, *int64) {
	var uid, gid *int64
	if sc := r.pod.Spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
	}
	if sc := c.spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
	}
	return uid, gid
}

func (r *podRun) imageSpec(image string) *ImageSpec {
	if spec, ok := r.p.cfg.Images[image]; ok {
		return &spec
	}
	repo := image
	if i := strings.LastIndex(image, ":"); i > 0 && !strings.Contains(image[i:], "/") {
		repo = image[:i]
	}
	if spec, ok := r.p.cfg.Images[repo]; ok {
		return &spec
	}
	return nil
}

func lookPath(name string, dirs []string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("%s: %w", name, err)
		}
		return name, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// environment is the container's env (envFrom, then env, resolved here by resolveEnv:
// values from Secrets, ConfigMaps and the downward API, whose pod IP is this pod's address:
// a container sees its IP only if it declares it, as on a real cluster), plus a kubeconfig for its service account, and Service hosts that
// point at a pod instead of a cluster IP.
func (r *podRun) environment(ctx context.Context, c *containerRun, image *ImageSpec) (map[string]string, error) {
	env := map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin"}
	if len(image.Path) > 0 {
		env["PATH"] = strings.Join(image.Path, ":") + ":" + env["PATH"]
	}
	for k, v := range image.Env {
		env[k] = v
	}
	env["HOSTNAME"] = r.pod.Name
	if kc := filepath.Join(r.dir, "kubeconfig"); fileExists(kc) {
		env["KUBECONFIG"] = kc
		host, port := splitHost(r.p.cfg.APIServer)
		env["KUBERNETES_SERVICE_HOST"], env["KUBERNETES_SERVICE_PORT"] = host, port
	}
	if err := r.resolveEnv(c.spec, env); err != nil {
		return nil, err
	}
	hosts := r.p.serviceHosts(r.pod.Namespace)
	for k, v := range env {
		if strings.HasSuffix(k, "_SERVICE_HOST") || strings.Contains(k, "_PORT") {
			for clusterIP, podIP := range hosts {
				v = strings.ReplaceAll(v, clusterIP, podIP)
			}
			env[k] = v
		}
	}
	_ = ctx
	return env, nil
}

// resolveEnv adds a container's envFrom and env to `env` as the kubelet does: envFrom
// first, then env in its order, each literal value's $(VAR) references expanded against
// what came before; values from Secrets, ConfigMaps and the downward API (the pod's own
// IP among them, which virtual-kubelet could not know when it would resolve them). A
// missing Secret, ConfigMap or key that is not optional fails the container.
func (r *podRun) resolveEnv(c corev1.Container, env map[string]string) error {
	for _, from := range c.EnvFrom {
		var data map[string][]byte
		var err error
		optional := false
		switch {
		case from.ConfigMapRef != nil:
			data, err = r.configMapData(from.ConfigMapRef.Name)
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
		case from.SecretRef != nil:
			data, err = r.secretData(from.SecretRef.Name)
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
		}
		if err != nil {
			if optional {
				continue
			}
			return fmt.Errorf("envFrom: %w", err)
		}
		for k, v := range data {
			env[from.Prefix+k] = string(v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = expandVars(e.Value, env)
			continue
		}
		v, err := r.valueFrom(e.ValueFrom)
		if err != nil {
			return fmt.Errorf("env %s: %w", e.Name, err)
		}
		if v != nil {
			env[e.Name] = *v
		}
	}
	return nil
}

// valueFrom is one env value from a Secret's or ConfigMap's key or the downward API; nil
// for an optional reference that is not there.
func (r *podRun) valueFrom(src *corev1.EnvVarSource) (*string, error) {
	key := func(data map[string][]byte, err error, what, k string, optional *bool) (*string, error) {
		if err == nil {
			if v, ok := data[k]; ok {
				s := string(v)
				return &s, nil
			}
			err = fmt.Errorf("%s has no key %q", what, k)
		}
		if optional != nil && *optional {
			return nil, nil
		}
		return nil, err
	}
	switch {
	case src.SecretKeyRef != nil:
		data, err := r.secretData(src.SecretKeyRef.Name)
		return key(data, err, "Secret "+src.SecretKeyRef.Name, src.SecretKeyRef.Key, src.SecretKeyRef.Optional)
	case src.ConfigMapKeyRef != nil:
		data, err := r.configMapData(src.ConfigMapKeyRef.Name)
		return key(data, err, "ConfigMap "+src.ConfigMapKeyRef.Name, src.ConfigMapKeyRef.Key, src.ConfigMapKeyRef.Optional)
	case src.FieldRef != nil:
		v, err := r.field(src.FieldRef.FieldPath)
		return &v, err
	}
	return nil, fmt.Errorf("only Secret, ConfigMap and field references are supported")
}

// field is a downward API field of the pod.
func (r *podRun) field(path string) (string, error) {
	switch path {
	case "status.podIP", "status.podIPs":
		return r.ip, nil
	case "status.hostIP", "status.hostIPs":
		return "127.0.0.1", nil
	case "spec.nodeName":
		return r.pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return r.pod.Spec.ServiceAccountName, nil
	case "metadata.name":
		return r.pod.Name, nil
	case "metadata.namespace":
		return r.pod.Namespace, nil
	case "metadata.uid":
		return string(r.pod.UID), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": r.labels(), "metadata.annotations": r.pod.Annotations} {
		if k, ok := strings.CutPrefix(path, prefix+"['"); ok && strings.HasSuffix(k, "']") {
			return m[strings.TrimSuffix(k, "']")], nil
		}
	}
	return "", fmt.Errorf("field %s is not supported", path)
}

func splitHost(url string) (string, string) {
	hostport := strings.TrimPrefix(strings.TrimPrefix(url, "https://"), "http://")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport, "443"
	}
	return host, port
}

// expandVars expands $(VAR) as Kubernetes does in command and args.
func expandVars(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] == '(' {
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				name := s[i+2 : i+end]
				if v, ok := env[name]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// volumeMount is one of a container's volumes: its folder on this node and where the
// container sees it.
type volumeMount struct{ dir, path string }

// volumeMounts lists the container's mounted volumes, in the order of its spec.
func (r *podRun) volumeMounts(c *containerRun) []volumeMount {
	var mounts []volumeMount
	for _, m := range c.spec.VolumeMounts {
		dir, ok := r.mounts[m.Name]
		if !ok {
			continue
		}
		if m.SubPath != "" {
			dir = filepath.Join(dir, m.SubPath)
		}
		mounts = append(mounts, volumeMount{dir, filepath.Clean(m.MountPath)})
	}
	return mounts
}

// rewriter maps paths under the container's volume mounts to their folders.
func (r *podRun) rewriter(c *containerRun) func(string) string {
	mounts := r.volumeMounts(c)
	// Longest mount path first, so a nested mount wins.
	for i := range mounts {
		for j := i + 1; j < len(mounts); j++ {
			if len(mounts[j].path) > len(mounts[i].path) {
				mounts[i], mounts[j] = mounts[j], mounts[i]
			}
		}
	}
	return func(s string) string {
		for _, m := range mounts {
			if idx := strings.Index(s, m.path); idx >= 0 {
				rest := s[idx+len(m.path):]
				if rest == "" || rest[0] == '/' || rest[0] == ' ' || rest[0] == ':' || rest[0] == '\'' || rest[0] == '"' {
					return s[:idx] + m.dir + rest
				}
			}
		}
		return s
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// prepare makes the pod's folders and fills its volumes.
func (r *podRun) prepare(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(r.dir, "volumes"), 0o755); err != nil {
		return err
	}
	if err := r.p.writeHosts(r); err != nil {
		return fmt.Errorf("/etc/hosts: %w", err)
	}
	for _, v := range r.pod.Spec.Volumes {
		dir := filepath.Join(r.dir, "volumes", v.Name)
		var err error
		switch {
		case v.PersistentVolumeClaim != nil:
			dir, err = r.waitClaim(ctx, v.PersistentVolumeClaim.ClaimName)
		case v.EmptyDir != nil:
			err = os.MkdirAll(dir, 0o777)
			if err == nil {
				err = os.Chmod(dir, 0o777)
			}
		case v.Secret != nil:
			err = r.writeSecret(dir, v.Secret)
		case v.ConfigMap != nil:
			err = r.writeConfigMap(dir, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional)
		case v.Projected != nil:
			err = r.writeProjected(ctx, dir, v.Projected)
		default:
			err = fmt.Errorf("volume %s: only persistentVolumeClaim, emptyDir, secret, configMap and projected volumes are supported", v.Name)
		}
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		r.mounts[v.Name] = dir
	}
	return nil
}

func (r *podRun) waitClaim(ctx context.Context, claim string) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		dir, err := r.p.volumePath(ctx, r.pod.Namespace, claim)
		if err == nil {
			return dir, nil
		}
		if errors.Is(err, errOtherNode) || time.Now().After(deadline) {
			return "", err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func writeFiles(dir string, files map[string][]byte, mode os.FileMode, gid int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		if gid >= 0 {
			if err := os.Chown(p, 0, gid); err != nil {
				return err
			}
		}
	}
	return nil
}

// fsGroup is the group a pod's volume files belong to (-1: leave them to the node). An
// image's ids (postgres' 999, say) mean nothing on this machine, so a pod with an
// `fsGroup` gets the group of its first container's image user: the user its processes
// run as here.
func (r *podRun) fsGroup() int {
	sc := r.pod.Spec.SecurityContext
	if sc == nil || sc.FSGroup == nil {
		return -1
	}
	for _, c := range r.pod.Spec.Containers {
		if spec := r.imageSpec(c.Image); spec != nil && spec.User != "" {
			if u, err := user.Lookup(spec.User); err == nil {
				if gid, err := strconv.Atoi(u.Gid); err == nil {
					return gid
				}
			}
		}
	}
	return -1
}

func pick(data map[string][]byte, items []corev1.KeyToPath) map[string][]byte {
	if len(items) == 0 {
		return data
	}
	out := map[string][]byte{}
	for _, it := range items {
		if v, ok := data[it.Key]; ok {
			out[it.Path] = v
		}
	}
	return out
}

func (r *podRun) secretData(name string) (map[string][]byte, error) {
	s, err := r.p.cfg.Listers.Secrets.Secrets(r.pod.Namespace).Get(name)
	if err != nil {
		return nil, err
	}
	return s.Data, nil
}

func (r *podRun) configMapData(name string) (map[string][]byte, error) {
	cm, err := r.p.cfg.Listers.ConfigMaps.ConfigMaps(r.pod.Namespace).Get(name)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	return out, nil
}

// The files of Secret volumes are readable by every user: the pod's processes may run as
// another user than the node (postgres), and only this machine's loopback sees them.
func (r *podRun) writeSecret(dir string, s *corev1.SecretVolumeSource) error {
	data, err := r.secretData(s.SecretName)
	if err != nil {
		if s.Optional != nil && *s.Optional {
			return os.MkdirAll(dir, 0o755)
		}
		return err
	}
	mode := os.FileMode(0o644)
	if s.DefaultMode != nil {
		mode = os.FileMode(*s.DefaultMode)
	}
	return writeFiles(dir, pick(data, s.Items), mode, r.fsGroup())
}

func (r *podRun) writeConfigMap(dir, name string, items []corev1.KeyToPath, optional *bool) error {
	data, err := r.configMapData(name)
	if err != nil {
		if optional != nil && *optional {
			return os.MkdirAll(dir, 0o755)
		}
		return err
	}
	return writeFiles(dir, pick(data, items), 0o644, r.fsGroup())
}

// writeProjected fills a projected volume: service-account tokens (from the TokenRequest
// API), ConfigMaps and Secrets, and the downward API's namespace. A service-account token
// also gets a kubeconfig beside the pod, so in-cluster clients reach the API server's
// loopback address.
func (r *podRun) writeProjected(ctx context.Context, dir string, v *corev1.ProjectedVolumeSource) error {
	files := map[string][]byte{}
	for _, src := range v.Sources {
		switch {
		case src.ServiceAccountToken != nil:
			token, err := r.token(ctx, src.ServiceAccountToken)
			if err != nil {
				return err
			}
			files[src.ServiceAccountToken.Path] = []byte(token)
			if err := r.writeKubeconfig(token); err != nil {
				return err
			}
		case src.ConfigMap != nil:
			data, err := r.configMapData(src.ConfigMap.Name)
			if err == nil {
				for k, val := range pick(data, src.ConfigMap.Items) {
					files[k] = val
				}
			}
		case src.Secret != nil:
			data, err := r.secretData(src.Secret.Name)
			if err == nil {
				for k, val := range pick(data, src.Secret.Items) {
					files[k] = val
				}
			}
		case src.DownwardAPI != nil:
			for _, it := range src.DownwardAPI.Items {
				if it.FieldRef != nil && it.FieldRef.FieldPath == "metadata.namespace" {
					files[it.Path] = []byte(r.pod.Namespace)
				}
			}
		}
	}
	return writeFiles(dir, files, 0o644, r.fsGroup())
}

func (r *podRun) token(ctx context.Context, src *corev1.ServiceAccountTokenProjection) (string, error) {
	expiry := int64(24 * 3600)
	if src.ExpirationSeconds != nil && *src.ExpirationSeconds > expiry {
		expiry = *src.ExpirationSeconds
	}
	req := &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{
		ExpirationSeconds: &expiry,
		BoundObjectRef:    &authv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: r.pod.Name, UID: r.pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	sa := r.pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	// The kubelet retries a volume it could not set up; so does the node, for up to 60 s.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := r.p.cfg.Client.CoreV1().ServiceAccounts(r.pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
		if err == nil {
			return out.Status.Token, nil
		}
		if !tokenRetryable(err) || r.isStopping() || ctx.Err() != nil || time.Now().After(deadline) {
			return "", fmt.Errorf("token for service account %s: %w", sa, err)
		}
		log.Printf("pod %s/%s: token for service account %s refused, asking again: %v", r.pod.Namespace, r.pod.Name, sa, err)
		time.Sleep(250 * time.Millisecond)
	}
}

// tokenRetryable says whether a refused token request may succeed when asked again. The
// Node authorizer learns that the pod is bound here from its own watch, and the token API
// finds the bound pod through the API server's cache: either may lag the binding the node
// acted on (seen on a loaded machine: "pod ... not found" for a pod that exists).
func tokenRetryable(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsNotFound(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}

func (r *podRun) writeKubeconfig(token string) error {
	ca := filepath.Join(r.dir, "ca.crt")
	if err := os.WriteFile(ca, r.p.cfg.CAData, 0o644); err != nil {
		return err
	}
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster: {server: %q, certificate-authority: %q}
users:
- name: pod
  user: {token: %q}
contexts:
- name: pod
  context: {cluster: cluster, user: pod, namespace: %q}
current-context: pod
`, r.p.cfg.APIServer, ca, token, r.pod.Namespace)
	return os.WriteFile(filepath.Join(r.dir, "kubeconfig"), []byte(kc), 0o644)
}

// probe runs the container's readiness probe (exec, TCP or HTTP) while it runs.
func (r *podRun) probe(ctx context.Context, c *containerRun) {
	pr := c.spec.ReadinessProbe
	period := time.Duration(max(pr.PeriodSeconds, 1)) * time.Second
	if pr.PeriodSeconds == 0 {
		period = 2 * time.Second
	}
	timeout := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
	time.Sleep(time.Duration(pr.InitialDelaySeconds) * time.Second)
	for {
		if r.isStopping() {
			return
		}
		c.mu.Lock()
		running := c.state.Running != nil
		c.mu.Unlock()
		ok := running && r.check(ctx, c, pr, timeout)
		c.mu.Lock()
		changed := c.ready != ok
		c.ready = ok
		c.mu.Unlock()
		if changed {
			r.p.publish(r)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.done:
			return
		case <-time.After(period):
		}
	}
}

func (r *podRun) port(c *containerRun, p intstr.IntOrString) string {
	if p.Type == intstr.Int {
		return strconv.Itoa(p.IntValue())
	}
	for _, cp := range c.spec.Ports {
		if cp.Name == p.StrVal {
			return strconv.Itoa(int(cp.ContainerPort))
		}
	}
	return p.StrVal
}

func (r *podRun) check(ctx context.Context, c *containerRun, pr *corev1.Probe, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case pr.Exec != nil:
		cmd, err := r.command(ctx, c, append([]string{}, pr.Exec.Command...))
		if err != nil {
			return false
		}
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			return false
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return err == nil
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			return false
		}
	case pr.TCPSocket != nil:
		d := net.Dialer{}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(r.ip, r.port(c, pr.TCPSocket.Port)))
		if err != nil {
			return false
		}
		conn.Close()
		return true
	case pr.HTTPGet != nil:
		scheme := strings.ToLower(string(pr.HTTPGet.Scheme))
		if scheme == "" {
			scheme = "http"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(r.ip, r.port(c, pr.HTTPGet.Port)), pr.HTTPGet.Path)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 400
	}
	return true
}

// stop sends each container's main process its image's stop signal (SIGTERM unless the
// image says otherwise), as a container runtime does, and SIGKILL to every container's
// process group after `grace` (what a container leaves behind once its main process has
// exited is killed as soon as it exits, in `run`).
func (r *podRun) stop(grace time.Duration) {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	all := append(append([]*containerRun{}, r.inits...), r.conts...)
	for _, c := range all {
		c.signalMain(r.imageSpec(c.spec.Image).stopSignal())
	}
	deadline := time.After(grace)
	for _, c := range all {
		c.mu.Lock()
		running, exited := c.cmd != nil, c.exited
		c.mu.Unlock()
		if !running {
			continue
		}
		select {
		case <-exited:
		case <-deadline:
			for _, k := range all {
				k.signal(syscall.SIGKILL)
			}
			<-exited
		}
	}
	// Containers that never started are terminated too, as the API expects.
	for _, c := range all {
		c.mu.Lock()
		if c.state.Terminated == nil {
			c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 137, Reason: "Killed", FinishedAt: metav1.Now(),
			}}
		}
		c.ready = false
		c.mu.Unlock()
	}
	r.mu.Lock()
	if r.phase != corev1.PodFailed && r.phase != corev1.PodSucceeded {
		r.phase = corev1.PodSucceeded
	}
	r.mu.Unlock()
}

// signalMain signals the container's main process only.
func (c *containerRun) signalMain(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil && c.cmd.Process != nil {
		_ = syscall.Kill(c.cmd.Process.Pid, sig)
	}
}

// signal signals the container's whole process group.
func (c *containerRun) signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil && c.cmd.Process != nil {
		_ = syscall.Kill(-c.cmd.Process.Pid, sig)
	}
}

// cleanup removes the pod's own folder (claims' folders stay).
func (r *podRun) cleanup() {
	_ = os.RemoveAll(filepath.Join(r.dir, "volumes"))
}

// snapshot is the pod with its status as the API should see it now.
func (r *podRun) snapshot() *corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	pod := r.pod.DeepCopy()
	st := corev1.PodStatus{
		Phase:     r.phase,
		Reason:    r.reason,
		Message:   r.message,
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		PodIP:     r.ip,
		PodIPs:    []corev1.PodIP{{IP: r.ip}},
		StartTime: &r.started,
	}
	allReady := len(r.conts) > 0
	for _, c := range r.inits {
		st.InitContainerStatuses = append(st.InitContainerStatuses, c.status())
	}
	for _, c := range r.conts {
		s := c.status()
		allReady = allReady && s.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, s)
	}
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return corev1.PodCondition{Type: t, Status: s, LastTransitionTime: r.started}
	}
	initialized := r.phase == corev1.PodRunning || r.phase == corev1.PodSucceeded
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodScheduled, true),
		cond(corev1.PodInitialized, initialized),
		cond(corev1.ContainersReady, allReady && r.phase == corev1.PodRunning),
		cond(corev1.PodReady, allReady && r.phase == corev1.PodRunning),
	}
	pod.Status = st
	return pod
}

func (c *containerRun) status() corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	started := c.state.Running != nil
	return corev1.ContainerStatus{
		Name:                 c.spec.Name,
		State:                c.state,
		LastTerminationState: c.last,
		Ready:                c.ready && started,
		RestartCount:         c.restarts,
		Image:                c.spec.Image,
		ImageID:              "lifeboat-node://" + c.spec.Image,
		ContainerID:          "lifeboat-node://" + c.spec.Name,
		Started:              &started,
	}
}

// logs reads the container's log file: its last `Tail` lines, then (with `Follow`) what
// comes until the container ends or the caller goes.
func (c *containerRun) logs(ctx context.Context, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	f, err := os.Open(c.logPath)
	if err != nil {
		if os.IsNotExist(err) {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, err
	}
	if opts.Tail > 0 {
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		lines := strings.SplitAfter(string(data), "\n")
		if n := len(lines); n > 0 && lines[n-1] == "" {
			lines = lines[:n-1]
		}
		if len(lines) > opts.Tail {
			lines = lines[len(lines)-opts.Tail:]
		}
		head := strings.NewReader(strings.Join(lines, ""))
		if !opts.Follow {
			return io.NopCloser(head), nil
		}
		f, err = os.Open(c.logPath)
		if err != nil {
			return nil, err
		}
		if _, err := f.Seek(int64(len(data)), io.SeekStart); err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(head, &follower{ctx: ctx, f: f, c: c}), f}, nil
	}
	if !opts.Follow {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{&follower{ctx: ctx, f: f, c: c}, f}, nil
}

// follower reads a growing file until its container ends (and the file is read out).
type follower struct {
	ctx context.Context
	f   *os.File
	c   *containerRun
}

func (fl *follower) Read(p []byte) (int, error) {
	for {
		n, err := fl.f.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		fl.c.mu.Lock()
		ended := fl.c.state.Terminated != nil
		fl.c.mu.Unlock()
		if ended {
			return 0, io.EOF
		}
		select {
		case <-fl.ctx.Done():
			return 0, io.EOF
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// exec runs `cmd` inside the container, wired to the caller's streams.
func (r *podRun) exec(ctx context.Context, c *containerRun, argv []string, attach api.AttachIO) error {
	cmd, err := r.command(ctx, c, append([]string{}, argv...))
	if err != nil {
		return err
	}
	if in := attach.Stdin(); in != nil {
		cmd.Stdin = in
	}
	if out := attach.Stdout(); out != nil {
		cmd.Stdout = out
		defer out.Close()
	}
	if errw := attach.Stderr(); errw != nil {
		cmd.Stderr = errw
		defer errw.Close()
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return exitError{code: ee.ExitCode()}
		}
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return ctx.Err()
	}
}

// exitError carries an exec'd command's exit code to `kubectl exec`.
type exitError struct{ code int }

func (e exitError) Error() string   { return fmt.Sprintf("command terminated with exit code %d", e.code) }
func (e exitError) String() string  { return e.Error() }
func (e exitError) Exited() bool    { return true }
func (e exitError) ExitStatus() int { return e.code }
func (e exitError) Code() int       { return e.code }
