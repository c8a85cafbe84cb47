package main

// The stand-in for cluster DNS and kube-proxy: every container runs in a mount namespace
// of its own whose /etc/hosts names each Service (`<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`,
// `<svc>.<ns>.svc.cluster.local`) and each StatefulSet pod (`<pod>.<svc>.<ns>.svc`) with
// the IP of a pod behind it, the way CoreDNS and kube-proxy would route it. Cluster IPs are
// never used (nothing listens there); names stay valid when a pod is replaced because the
// file is rewritten in place whenever what it says changes.

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// hostsPath is the pod's /etc/hosts on this node.
func (r *podRun) hostsPath() string { return filepath.Join(r.dir, "hosts") }

// isReady says whether every container of the pod is ready.
func (r *podRun) isReady() bool {
	for _, c := range r.conts {
		c.mu.Lock()
		ready := c.ready
		c.mu.Unlock()
		if !ready {
			return false
		}
	}
	return len(r.conts) > 0
}

// peer is a pod as the cluster's names see it: one of this node's (from its run, current
// to the moment) or one of another node's (from the API server: its reported IP and
// readiness).
type peer struct {
	namespace, name, ip, hostname, subdomain string
	labels                                   map[string]string
	ready                                    bool
}

// peers is every running pod of the cluster that has an IP: ready pods first, then by IP,
// so a name points at a pod that serves when one does.
func (p *Provider) peers() []peer {
	p.mu.Lock()
	runs := make([]*podRun, 0, len(p.pods))
	for _, o := range p.pods {
		runs = append(runs, o)
	}
	p.mu.Unlock()
	out := make([]peer, 0, len(runs))
	for _, o := range runs {
		out = append(out, peer{
			namespace: o.pod.Namespace, name: o.pod.Name, ip: o.ip,
			hostname: o.pod.Spec.Hostname, subdomain: o.pod.Spec.Subdomain,
			labels: o.labels(), ready: o.isReady(),
		})
	}
	if p.cfg.AllPods != nil {
		pods, err := p.cfg.AllPods.List(everything())
		if err != nil {
			log.Printf("listing the cluster's pods: %v", err)
		}
		for _, pod := range pods {
			if pod.Spec.NodeName == p.cfg.NodeName || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil ||
				pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
				continue
			}
			out = append(out, peer{
				namespace: pod.Namespace, name: pod.Name, ip: pod.Status.PodIP,
				hostname: pod.Spec.Hostname, subdomain: pod.Spec.Subdomain,
				labels: pod.Labels, ready: podReady(pod),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ready != out[j].ready {
			return out[i].ready
		}
		return out[i].ip < out[j].ip
	})
	return out
}

// podReady says whether the API server has the pod Ready.
func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// hosts renders the pod's /etc/hosts.
func (p *Provider) hosts(r *podRun) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by lifeboat-node: the cluster's names (its DNS stand-in).\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	fmt.Fprintf(&b, "%s\t%s\n", r.ip, r.pod.Name)
	peers := p.peers()
	for _, o := range peers {
		if o.hostname != "" && o.subdomain != "" {
			fqdn := o.hostname + "." + o.subdomain + "." + o.namespace + ".svc"
			fmt.Fprintf(&b, "%s\t%s %s.cluster.local\n", o.ip, fqdn, fqdn)
		}
	}
	services, err := p.cfg.Listers.Services.List(everything())
	if err != nil {
		return b.Bytes()
	}
	sort.Slice(services, func(i, j int) bool {
		return services[i].Namespace+"/"+services[i].Name < services[j].Namespace+"/"+services[j].Name
	})
	for _, s := range services {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		for _, o := range peers {
			if o.namespace != s.Namespace || !matches(s.Spec.Selector, o.labels) {
				continue
			}
			svc := s.Name + "." + s.Namespace
			names := svc + " " + svc + ".svc " + svc + ".svc.cluster.local"
			if s.Namespace == r.pod.Namespace {
				names = s.Name + " " + names
			}
			fmt.Fprintf(&b, "%s\t%s\n", o.ip, names)
			break
		}
	}
	return b.Bytes()
}

// writeHosts (re)writes the pod's /etc/hosts in place (a bind mount follows the inode, so
// the file is truncated and written, never replaced) when its text changed.
func (p *Provider) writeHosts(r *podRun) error {
	want := p.hosts(r)
	if have, err := os.ReadFile(r.hostsPath()); err == nil && bytes.Equal(have, want) {
		return nil
	}
	return os.WriteFile(r.hostsPath(), want, 0o644)
}

// RunHosts keeps every pod's /etc/hosts current.
func (p *Provider) RunHosts(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		runs := make([]*podRun, 0, len(p.pods))
		for _, r := range p.pods {
			runs = append(runs, r)
		}
		p.mu.Unlock()
		for _, r := range runs {
			if !fileExists(r.hostsPath()) {
				continue
			}
			if err := p.writeHosts(r); err != nil {
				log.Printf("pod %s/%s: /etc/hosts: %v", r.pod.Namespace, r.pod.Name, err)
			}
		}
	}
}

// canIsolate says whether containers get mount namespaces of their own (the node runs as
// root and the pod's /etc/hosts is written).
func (r *podRun) canIsolate() bool {
	return os.Geteuid() == 0 && fileExists(r.hostsPath())
}

// isolateScript runs in the container's new mount namespace: it binds the pod's
// /etc/hosts and every volume at its mount path, changes to the working directory and
// execs the program. Its arguments: hosts file, working directory, pairs of (folder, mount
// path), `--`, the program and its arguments.
const isolateScript = `h=$1; w=$2; shift 2
mount --bind "$h" /etc/hosts || exit 127
while [ "$1" != "--" ]; do mount --bind "$1" "$2" || exit 127; shift 2; done
shift
cd "$w" || exit 127
exec "$@"`

// isolate wraps a container's program so that it runs in a mount namespace of its own, the
// way a container runtime would run it: the pod's /etc/hosts and the container's volumes
// are bind-mounted at their real paths (so paths in files and in what one process tells
// another, pgBackRest's protocol for one, are true), then it runs as the image's user
// (`uid` < 0: as the node's own). A mount path that does not exist on this host is created
// as an empty folder (or file): the mount point. Without root it is not isolated.
func (r *podRun) isolate(c *containerRun, program string, args []string, workdir string, uid, gid int) (string, []string, error) {
	binds := r.volumeMounts(c)
	// Parents first, so a nested mount lands inside its parent's.
	sort.SliceStable(binds, func(i, j int) bool { return len(binds[i].path) < len(binds[j].path) })
	wrapped := []string{"--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", isolateScript, "lifeboat-node", r.hostsPath(), workdir}
	for _, b := range binds {
		// A real container has a root of its own; here the mounts go over the host's, so a
		// mount path above the node's folders would hide the sources of the next mounts.
		if state := filepath.Clean(r.p.cfg.StateDir); state == b.path || strings.HasPrefix(state, strings.TrimSuffix(b.path, "/")+"/") {
			return "", nil, fmt.Errorf("mount path %s holds this node's folders (%s): the node stand-in cannot mount a volume there", b.path, state)
		}
		if err := mountPoint(b.dir, b.path); err != nil {
			return "", nil, fmt.Errorf("mount point %s: %w", b.path, err)
		}
		wrapped = append(wrapped, b.dir, b.path)
	}
	wrapped = append(wrapped, "--")
	if uid >= 0 {
		// The parent-death signal is cleared when the user changes: setpriv sets it again.
		wrapped = append(wrapped, "setpriv", "--reuid="+strconv.Itoa(uid), "--regid="+strconv.Itoa(gid),
			"--clear-groups", "--pdeathsig=KILL", "--")
	}
	wrapped = append(wrapped, program)
	return "unshare", append(wrapped, args...), nil
}

// mountPoint makes sure `dst` exists and is of the same type as `src`.
func mountPoint(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return os.MkdirAll(dst, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if fileExists(dst) {
		return nil
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}
