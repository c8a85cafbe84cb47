package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// Config is what the provider needs from main.
type Config struct {
	NodeName string
	StateDir string
	Images   map[string]ImageSpec
	IPPrefix string
	// IPFirst and IPLast bound the last byte of this node's pod IPs (10 to 250 when both
	// are 0): nodes of one cluster share its prefix and take disjoint ranges.
	IPFirst, IPLast int
	Client          kubernetes.Interface
	Listers         nodeutil.ProviderConfig
	// AllPods lists the pods of every node (nil: this node's alone), for the names of
	// Services whose pods run elsewhere.
	AllPods   corelisters.PodLister
	APIServer string
	CAData    []byte
}

// Provider runs the pods bound to this node as local processes.
type Provider struct {
	cfg    Config
	mu     sync.Mutex
	pods   map[string]*podRun
	ips    map[string]string // pod IP -> pod key
	notify func(*corev1.Pod)
}

// NewProvider is a provider with no pods yet.
func NewProvider(cfg Config) *Provider {
	return &Provider{
		cfg:    cfg,
		pods:   map[string]*podRun{},
		ips:    map[string]string{},
		notify: func(*corev1.Pod) {},
	}
}

func key(namespace, name string) string { return namespace + "/" + name }

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// NotifyPods registers the callback that reports status changes.
func (p *Provider) NotifyPods(_ context.Context, f func(*corev1.Pod)) {
	p.mu.Lock()
	p.notify = f
	p.mu.Unlock()
}

func (p *Provider) publish(run *podRun) {
	p.mu.Lock()
	f := p.notify
	p.mu.Unlock()
	f(run.snapshot())
}

func (p *Provider) allocateIP(podKey string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	first, last := p.cfg.IPFirst, p.cfg.IPLast
	if first == 0 && last == 0 {
		first, last = 10, 250
	}
	for i := first; i <= last; i++ {
		ip := fmt.Sprintf("%s%d", p.cfg.IPPrefix, i)
		if _, taken := p.ips[ip]; !taken {
			p.ips[ip] = podKey
			return ip, nil
		}
	}
	return "", fmt.Errorf("no free pod IP under %s", p.cfg.IPPrefix)
}

// CreatePod prepares the pod's folders and volumes and starts its containers.
func (p *Provider) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	k := key(pod.Namespace, pod.Name)
	p.mu.Lock()
	if _, exists := p.pods[k]; exists {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	ip, err := p.allocateIP(k)
	if err != nil {
		return err
	}
	run := newPodRun(p, pod.DeepCopy(), ip)
	p.mu.Lock()
	p.pods[k] = run
	p.mu.Unlock()
	go run.start(context.WithoutCancel(ctx))
	return nil
}

// UpdatePod takes what may change in place (nothing a process needs restarting for).
func (p *Provider) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	run, ok := p.pods[key(pod.Namespace, pod.Name)]
	p.mu.Unlock()
	if !ok {
		return errdefs.NotFoundf("pod %s/%s is not on this node", pod.Namespace, pod.Name)
	}
	run.update(pod)
	return nil
}

// DeletePod stops the pod's containers (their stop signal, then SIGKILL after the grace
// period), reports them terminated and, as the kubelet does once a deleted pod's containers
// have stopped, removes the pod from the API server at once (virtual-kubelet alone would
// wait out the whole grace period, however fast the containers stopped).
func (p *Provider) DeletePod(_ context.Context, pod *corev1.Pod) error {
	p.mu.Lock()
	run, ok := p.pods[key(pod.Namespace, pod.Name)]
	p.mu.Unlock()
	if !ok {
		return errdefs.NotFoundf("pod %s/%s is not on this node", pod.Namespace, pod.Name)
	}
	grace := 30 * time.Second
	if s := pod.Spec.TerminationGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	if s := pod.DeletionGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	go func() {
		run.stop(grace)
		p.publish(run)
		p.mu.Lock()
		delete(p.pods, key(pod.Namespace, pod.Name))
		delete(p.ips, run.ip)
		p.mu.Unlock()
		run.cleanup()
		if p.cfg.Client == nil {
			return
		}
		// Only the pod that was deleted: a StatefulSet's replacement has the same name.
		zero := int64(0)
		uid := pod.UID
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      &metav1.Preconditions{UID: &uid},
		})
	}()
	return nil
}

// GetPod returns the pod with its current status.
func (p *Provider) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	p.mu.Lock()
	run, ok := p.pods[key(namespace, name)]
	p.mu.Unlock()
	if !ok {
		return nil, errdefs.NotFoundf("pod %s/%s is not on this node", namespace, name)
	}
	return run.snapshot(), nil
}

// GetPodStatus returns the pod's current status.
func (p *Provider) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	pod, err := p.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &pod.Status, nil
}

// GetPods returns every pod on this node.
func (p *Provider) GetPods(context.Context) ([]*corev1.Pod, error) {
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, r := range p.pods {
		runs = append(runs, r)
	}
	p.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.snapshot())
	}
	return out, nil
}

func (p *Provider) container(namespace, pod, name string) (*podRun, *containerRun, error) {
	p.mu.Lock()
	run, ok := p.pods[key(namespace, pod)]
	p.mu.Unlock()
	if !ok {
		return nil, nil, errdefs.NotFoundf("pod %s/%s is not on this node", namespace, pod)
	}
	c := run.find(name)
	if c == nil {
		return nil, nil, errdefs.NotFoundf("pod %s/%s has no container %s", namespace, pod, name)
	}
	return run, c, nil
}

// GetContainerLogs serves `kubectl logs` (tail, follow and previous are honoured).
func (p *Provider) GetContainerLogs(ctx context.Context, namespace, podName, containerName string, opts api.ContainerLogOpts) (io.ReadCloser, error) {
	_, c, err := p.container(namespace, podName, containerName)
	if err != nil {
		return nil, err
	}
	return c.logs(ctx, opts)
}

// RunInContainer serves `kubectl exec`: the command runs like the container's own process
// (its user, env, working directory and rewritten paths), wired to the caller's streams.
func (p *Provider) RunInContainer(ctx context.Context, namespace, podName, containerName string, cmd []string, attach api.AttachIO) error {
	run, c, err := p.container(namespace, podName, containerName)
	if err != nil {
		return err
	}
	return run.exec(ctx, c, cmd, attach)
}

// AttachToContainer is not offered: the processes' output goes to their logs.
func (p *Provider) AttachToContainer(context.Context, string, string, string, api.AttachIO) error {
	return errdefs.InvalidInput("attach is not supported by lifeboat-node; use kubectl logs")
}

// GetStatsSummary reports no figures (nothing here meters processes).
func (p *Provider) GetStatsSummary(context.Context) (*statsv1alpha1.Summary, error) {
	return &statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{NodeName: p.cfg.NodeName, StartTime: metav1.Now()}}, nil
}

// GetMetricsResource reports no metrics.
func (p *Provider) GetMetricsResource(context.Context) ([]*dto.MetricFamily, error) {
	return nil, nil
}

// PortForward is not offered: pods listen on their own loopback address, reachable as is.
func (p *Provider) PortForward(context.Context, string, string, int32, io.ReadWriteCloser) error {
	return errdefs.InvalidInput("port-forward is not supported by lifeboat-node; connect to the pod IP (a loopback address)")
}

// StopAll stops every pod (the node is stopping); their processes would die with it anyway.
func (p *Provider) StopAll(grace time.Duration) {
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, r := range p.pods {
		runs = append(runs, r)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func(r *podRun) {
			defer wg.Done()
			r.stop(grace)
		}(r)
	}
	wg.Wait()
}

// StorageClass is the one storage class this node provisions: a folder per volume.
const StorageClass = "lifeboat-local"

// SelectedNode is the annotation the scheduler puts on a claim of a WaitForFirstConsumer
// class once it has chosen the node of the first pod that uses it.
const SelectedNode = "volume.kubernetes.io/selected-node"

// RunProvisioner binds every pending claim of StorageClass that the scheduler placed on
// this node (SelectedNode) to a new PersistentVolume whose data is a folder under this
// node's state dir, with a node affinity to this node, as a local volume has: the folder
// outlives the pods that use it, and every later pod that mounts the claim is scheduled
// here.
func (p *Provider) RunProvisioner(ctx context.Context) {
	for {
		if err := p.provisionOnce(ctx); err != nil && ctx.Err() == nil {
			log.Printf("provisioner: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (p *Provider) provisionOnce(ctx context.Context) error {
	claims, err := p.cfg.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range claims.Items {
		c := &claims.Items[i]
		if c.Status.Phase != corev1.ClaimPending || c.Spec.VolumeName != "" {
			continue
		}
		class := ""
		if c.Spec.StorageClassName != nil {
			class = *c.Spec.StorageClassName
		}
		if class != StorageClass || c.Annotations[SelectedNode] != p.cfg.NodeName {
			continue
		}
		// Short names: a Unix socket's path below a volume must stay under 108 bytes.
		name := "pv-" + strings.ReplaceAll(string(c.UID), "-", "")[:12]
		dir := filepath.Join(p.cfg.StateDir, "volumes", name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
		_ = os.Chmod(dir, 0o777)
		size := c.Spec.Resources.Requests[corev1.ResourceStorage]
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"lifeboat.local/node": p.cfg.NodeName}},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes:                   c.Spec.AccessModes,
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              StorageClass,
				ClaimRef: &corev1.ObjectReference{
					Kind: "PersistentVolumeClaim", Namespace: c.Namespace, Name: c.Name, UID: c.UID,
					APIVersion: "v1",
				},
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: dir},
				},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
						Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{p.cfg.NodeName},
					}}}},
				}},
			},
		}
		if _, err := p.cfg.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			return err
		}
	}
	return nil
}

// errOtherNode: a claim's volume is on another node.
var errOtherNode = errors.New("the volume is on another node")

// volumePath is the folder a claim's volume is (its PV's hostPath).
func (p *Provider) volumePath(ctx context.Context, namespace, claim string) (string, error) {
	pvc, err := p.cfg.Client.CoreV1().PersistentVolumeClaims(namespace).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("claim %s/%s is not bound yet", namespace, claim)
	}
	pv, err := p.cfg.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if pv.Spec.HostPath == nil {
		return "", fmt.Errorf("volume %s is not a folder of this node", pv.Name)
	}
	if node := pv.Labels["lifeboat.local/node"]; node != "" && node != p.cfg.NodeName {
		// A local volume cannot be mounted anywhere else: what the scheduler prevents.
		return "", fmt.Errorf("%w: volume %s of claim %s/%s is on node %s, not %s",
			errOtherNode, pv.Name, namespace, claim, node, p.cfg.NodeName)
	}
	return pv.Spec.HostPath.Path, nil
}

// serviceHosts maps each Service's cluster IP in `namespace` to the IP of a running pod
// behind it (a ready one when there is one), on any node, so that nothing ever connects to
// a cluster IP (nothing listens there).
func (p *Provider) serviceHosts(namespace string) map[string]string {
	out := map[string]string{}
	services, err := p.cfg.Listers.Services.Services(namespace).List(everything())
	if err != nil {
		return out
	}
	peers := p.peers()
	for _, s := range services {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == "None" || len(s.Spec.Selector) == 0 {
			continue
		}
		for _, o := range peers {
			if o.namespace == namespace && matches(s.Spec.Selector, o.labels) {
				out[s.Spec.ClusterIP] = o.ip
				break
			}
		}
	}
	return out
}

func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
