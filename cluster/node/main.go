// Command lifeboat-node stands in for the one part of Kubernetes that cannot run on the
// project's machines: the kubelet and its container runtime. It registers a Node with a
// real API server (through virtual-kubelet's node library, which also serves the kubelet
// endpoints the API server proxies `kubectl logs` and `kubectl exec` to) and runs each
// container of each pod bound to it as a local process.
//
// What a container is here: a process group started from an image-to-program map (image
// `postgres:15` runs Debian's PostgreSQL 15, and so on; an unknown image fails the pod),
// with the pod's own loopback address as its pod IP, its volumes as folders (paths under a
// volume mount in its command, args, env and working directory are rewritten to the
// folder), its env resolved through the API, and a kubeconfig for its service account's
// projected token. Everything it starts dies with it (a parent-death signal).
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/virtual-kubelet/virtual-kubelet/node"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
	"github.com/virtual-kubelet/virtual-kubelet/node/nodeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	var (
		kubeconfig = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "the node's kubeconfig (a client certificate for system:node:<name>)")
		nodeName   = flag.String("node-name", "lifeboat-node", "the Node's name")
		listen     = flag.String("listen", "127.0.0.1:10250", "the kubelet endpoint (loopback only)")
		certFile   = flag.String("tls-cert", "", "the kubelet endpoint's serving certificate")
		keyFile    = flag.String("tls-key", "", "its key")
		clientCA   = flag.String("client-ca", "", "the CA whose client certificates (the API server's) may call the kubelet endpoint")
		stateDir   = flag.String("state-dir", "", "where pods' folders, volumes and logs live")
		imagesFile = flag.String("images", "", "the image-to-program map (JSON)")
		ipPrefix   = flag.String("pod-ip-prefix", "127.0.100.", "pods get <prefix>10 to <prefix>250 as their IPs (loopback)")
		ipRange    = flag.String("pod-ip-range", "10-250", "the last bytes of this node's pod IPs, first-last (nodes of one cluster share the prefix and take disjoint ranges)")
	)
	flag.Parse()
	if *stateDir == "" || *imagesFile == "" || *certFile == "" || *keyFile == "" {
		log.Fatal("--state-dir, --images, --tls-cert and --tls-key are required")
	}
	host, portText, err := net.SplitHostPort(*listen)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("--listen must be a loopback host:port, got %q", *listen)
	}
	port, _ := strconv.Atoi(portText)
	ipFirst, ipLast, err := parseRange(*ipRange)
	if err != nil {
		log.Fatalf("--pod-ip-range: %v", err)
	}
	images, err := loadImages(*imagesFile)
	if err != nil {
		log.Fatal(err)
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("reading the kubeconfig: %v", err)
	}
	// The kubelet's own client limits (kubeAPIQPS 50, kubeAPIBurst 100): client-go's default
	// of 5 requests a second spaced each pod start's few requests 200 ms apart.
	restConfig.QPS, restConfig.Burst = 50, 100
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		log.Fatalf("connecting to the API server: %v", err)
	}

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()

	// Every node's pods, for the names of Services whose pods run on another node.
	factory := informers.NewSharedInformerFactory(client, 30*time.Second)
	allPods := factory.Core().V1().Pods().Lister()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	var provider *Provider
	mux := http.NewServeMux()
	newProvider := func(cfg nodeutil.ProviderConfig) (nodeutil.Provider, node.NodeProvider, error) {
		provider = NewProvider(Config{
			NodeName:  *nodeName,
			StateDir:  *stateDir,
			Images:    images,
			IPPrefix:  *ipPrefix,
			IPFirst:   ipFirst,
			IPLast:    ipLast,
			AllPods:   allPods,
			Client:    client,
			Listers:   cfg,
			APIServer: restConfig.Host,
			CAData:    caData(restConfig.CAData, restConfig.CAFile),
		})
		cfg.Node.Status.Addresses = []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: host},
			{Type: corev1.NodeHostName, Address: *nodeName},
		}
		cfg.Node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		cfg.Node.Status.NodeInfo.KubeletVersion = "v1.36.3-lifeboat-node"
		cfg.Node.Status.NodeInfo.OperatingSystem = "linux"
		cfg.Node.Status.NodeInfo.Architecture = "amd64"
		cfg.Node.Status.Capacity = resources()
		cfg.Node.Status.Allocatable = resources()
		return provider, nil, nil
	}
	n, err := nodeutil.NewNode(*nodeName, newProvider,
		func(cfg *nodeutil.NodeConfig) error {
			cfg.KubeconfigPath = *kubeconfig
			cfg.HTTPListenAddr = *listen
			cfg.Handler = mux
			cfg.NumWorkers = 4
			cfg.InformerResyncPeriod = 30 * time.Second
			// The node resolves env itself (pod.go, resolveEnv): virtual-kubelet would before
			// the pod has an IP, and cannot resolve status.podIP at all.
			cfg.SkipDownwardAPIResolution = true
			// NodeRestriction lets a node set only the kubelet's own labels.
			cfg.NodeSpec.Labels = map[string]string{
				"kubernetes.io/hostname": *nodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			}
			return nil
		},
		nodeutil.WithClient(client),
		func(cfg *nodeutil.NodeConfig) error {
			if *clientCA == "" {
				cfg.Handler = nodeutil.WithAuth(nodeutil.NoAuth(), cfg.Handler)
				return nil
			}
			auth, err := nodeutil.WebhookAuth(cfg.Client, *nodeName, func(w *nodeutil.WebhookAuthConfig) error {
				var err error
				w.AuthnConfig.ClientCertificateCAContentProvider, err = dynamiccertificates.NewDynamicCAContentFromFile("client-ca", *clientCA)
				return err
			})
			if err != nil {
				return err
			}
			cfg.Handler = api.InstrumentHandler(nodeutil.WithAuth(auth, cfg.Handler))
			return nil
		},
		nodeutil.WithTLSConfig(nodeutil.WithKeyPairFromPath(*certFile, *keyFile), func(c *tls.Config) error {
			c.ClientAuth = tls.RequestClientCert
			return nil
		}),
		nodeutil.AttachProviderRoutes(mux),
	)
	if err != nil {
		log.Fatalf("setting up the node: %v", err)
	}
	go provider.RunProvisioner(ctx)
	go provider.RunHosts(ctx)
	go func() {
		if err := n.Run(ctx); err != nil {
			log.Printf("node stopped: %v", err)
		}
	}()
	if err := n.WaitReady(ctx, 60*time.Second); err != nil {
		log.Fatalf("the node did not become ready: %v", err)
	}
	log.Printf("node %s ready; kubelet endpoint https://%s", *nodeName, *listen)
	select {
	case <-ctx.Done():
	case <-n.Done():
	}
	provider.StopAll(20 * time.Second)
	log.Printf("node %s stopped", *nodeName)
}

// parseRange reads `first-last` (10 ≤ first ≤ last ≤ 250).
func parseRange(text string) (int, int, error) {
	a, b, ok := strings.Cut(text, "-")
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || first < 10 || last > 250 || first > last {
		return 0, 0, fmt.Errorf("want first-last with 10 <= first <= last <= 250, got %q", text)
	}
	return first, last, nil
}

func resources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    mustQuantity("8"),
		corev1.ResourceMemory: mustQuantity("16Gi"),
		corev1.ResourcePods:   mustQuantity("110"),
	}
}

// ImageSpec says how to run an image's containers as processes.
type ImageSpec struct {
	// Entrypoint is what runs when the container names no command (Docker's ENTRYPOINT).
	Entrypoint []string `json:"entrypoint"`
	// Cmd is the default arguments (Docker's CMD).
	Cmd []string `json:"cmd"`
	// Path is searched for a command that is not an absolute path.
	Path []string `json:"path"`
	// User runs the processes (an OS user name); empty: the node's own user.
	User string `json:"user"`
	// Env is added to every container of the image.
	Env map[string]string `json:"env"`
	// StopSignal is what stopping a container sends its main process (Docker's STOPSIGNAL:
	// the official postgres image's is SIGINT, a fast shutdown); empty: SIGTERM.
	StopSignal string `json:"stopSignal"`
}

// stopSignal is the signal `StopSignal` names (SIGTERM when empty or unknown).
func (s *ImageSpec) stopSignal() syscall.Signal {
	if s == nil {
		return syscall.SIGTERM
	}
	switch s.StopSignal {
	case "SIGINT":
		return syscall.SIGINT
	case "SIGQUIT":
		return syscall.SIGQUIT
	case "SIGHUP":
		return syscall.SIGHUP
	case "SIGUSR1":
		return syscall.SIGUSR1
	default:
		return syscall.SIGTERM
	}
}

func loadImages(path string) (map[string]ImageSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the image map: %w", err)
	}
	images := map[string]ImageSpec{}
	if err := json.Unmarshal(data, &images); err != nil {
		return nil, fmt.Errorf("reading the image map %s: %w", path, err)
	}
	return images, nil
}

// caData is the API server's CA, given inline or as a file in the node's kubeconfig.
func caData(data []byte, file string) []byte {
	if len(data) > 0 || file == "" {
		return data
	}
	b, err := os.ReadFile(file)
	if err != nil {
		log.Fatalf("reading the API server's CA %s: %v", file, err)
	}
	return b
}
