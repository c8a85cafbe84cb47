//! The test control plane is a real Kubernetes: real validation, real RBAC with an audit
//! trail, real controllers driving Jobs, StatefulSets and namespace deletion, and a node
//! (the one stand-in) whose pods' logs and exec go through the real API server.
//!
//! One control plane for the whole suite (starting one takes tens of seconds); each check
//! works in a namespace of its own. `make k8s-test` runs it; so does `make test`.
#![allow(clippy::unwrap_used)] // Tests: a panic is the failure report.

use std::time::Duration;

use lifeboat_e2e::cluster::Cluster;

fn ns(cluster: &Cluster, name: &str) {
    cluster.kubectl_ok(&["create", "namespace", name]).unwrap();
    cluster
        .wait(&format!("the default service account of {name}"), || {
            cluster
                .kubectl(&["-n", name, "get", "serviceaccount", "default"])
                .is_ok_and(|o| o.status.success())
        })
        .unwrap();
}

fn jsonpath(cluster: &Cluster, args: &[&str], path: &str) -> String {
    let mut all: Vec<&str> = args.to_vec();
    let p = format!("jsonpath={path}");
    all.extend(["-o", &p]);
    cluster
        .kubectl(&all)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

#[test]
fn the_test_cluster_is_a_real_kubernetes() {
    let cluster = Cluster::start().unwrap();
    let version = cluster.kubectl_ok(&["version", "-o", "json"]).unwrap();
    assert!(version.contains("\"gitVersion\": \"v1.36.3\""), "{version}");

    server_side_dry_run_rejects_an_invalid_object(&cluster);
    a_narrow_role_is_refused_outside_it_and_the_audit_log_shows_it(&cluster);
    a_job_runs_to_completion_and_its_logs_come_through_the_api_server(&cluster);
    a_statefulset_postgres_keeps_its_data_when_its_pod_is_replaced(&cluster);
    deleting_a_namespace_removes_everything_in_it(&cluster);
    an_unknown_image_fails_its_pod_with_the_reason(&cluster);
    a_claim_stays_on_its_node_and_names_reach_across_nodes(&cluster);
    everything_listens_on_loopback(&cluster);
}

/// Two nodes: a claim of the default class (WaitForFirstConsumer) gets a volume on the node
/// of the first pod that mounts it, with a node affinity, so the scheduler sends every
/// later pod that mounts it there (a Job with no node of its own reads what the first pod
/// wrote); and a pod on one node reaches a Service whose pod runs on the other by name.
fn a_claim_stays_on_its_node_and_names_reach_across_nodes(cluster: &Cluster) {
    use lifeboat_e2e::cluster::NODES;
    ns(cluster, "nodes");
    let writer = format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data, namespace: nodes}}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: writer, namespace: nodes}}\nspec:\n  selector: {{app: writer}}\n  ports: [{{port: 80}}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: writer, namespace: nodes, labels: {{app: writer}}}}\nspec:\n  nodeSelector: {{kubernetes.io/hostname: {}}}\n  containers:\n  - {{name: w, image: debian:12, command: [sh, -c, 'echo written-there > /data/x; exec sleep infinity'], volumeMounts: [{{name: data, mountPath: /data}}]}}\n  volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]\n",
        NODES[1]
    );
    cluster.apply_str(&writer).unwrap();
    cluster
        .wait_for("pod writer to run", Duration::from_secs(90), &mut || {
            jsonpath(
                cluster,
                &["-n", "nodes", "get", "pod", "writer"],
                "{.status.phase}",
            ) == "Running"
        })
        .unwrap();
    let pv = jsonpath(
        cluster,
        &["-n", "nodes", "get", "pvc", "data"],
        "{.spec.volumeName}",
    );
    let affinity = jsonpath(
        cluster,
        &["get", "pv", &pv],
        "{.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}",
    );
    assert_eq!(affinity, NODES[1], "the volume of claim data ({pv})");
    let writer_ip = jsonpath(
        cluster,
        &["-n", "nodes", "get", "pod", "writer"],
        "{.status.podIP}",
    );
    let jobs = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: reader, namespace: nodes}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {{name: r, image: debian:12, command: [cat, /data/x], volumeMounts: [{{name: data, mountPath: /data}}]}}\n      volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {{name: caller, namespace: nodes}}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      nodeSelector: {{kubernetes.io/hostname: {}}}\n      containers:\n      - {{name: c, image: debian:12, command: [getent, hosts, writer.nodes.svc]}}\n",
        NODES[0]
    );
    cluster.apply_str(&jobs).unwrap();
    for job in ["reader", "caller"] {
        cluster
            .wait_for(
                &format!("job {job} to succeed"),
                Duration::from_secs(90),
                &mut || {
                    jsonpath(
                        cluster,
                        &["-n", "nodes", "get", "job", job],
                        "{.status.succeeded}",
                    ) == "1"
                },
            )
            .unwrap();
    }
    let node_of = |job: &str| {
        jsonpath(
            cluster,
            &[
                "-n",
                "nodes",
                "get",
                "pods",
                "-l",
                &format!("job-name={job}"),
            ],
            "{.items[0].spec.nodeName}",
        )
    };
    assert_eq!(
        node_of("reader"),
        NODES[1],
        "the Job went where its claim is"
    );
    assert_eq!(node_of("caller"), NODES[0]);
    let read = cluster
        .kubectl_ok(&["-n", "nodes", "logs", "job/reader"])
        .unwrap();
    assert_eq!(read.trim(), "written-there");
    let resolved = cluster
        .kubectl_ok(&["-n", "nodes", "logs", "job/caller"])
        .unwrap();
    assert!(
        resolved.starts_with(&format!("{writer_ip} "))
            || resolved.starts_with(&format!("{writer_ip}\t")),
        "{resolved} (writer is {writer_ip} on {})",
        NODES[1]
    );
}

fn an_unknown_image_fails_its_pod_with_the_reason(cluster: &Cluster) {
    ns(cluster, "images");
    cluster
        .apply_str("apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: images}\nspec:\n  restartPolicy: Never\n  containers: [{name: web, image: 'nginx:1.27'}]\n")
        .unwrap();
    cluster
        .wait_for("pod web to fail", Duration::from_secs(60), &mut || {
            jsonpath(
                cluster,
                &["-n", "images", "get", "pod", "web"],
                "{.status.phase}",
            ) == "Failed"
        })
        .unwrap();
    let message = jsonpath(
        cluster,
        &["-n", "images", "get", "pod", "web"],
        "{.status.message}",
    );
    assert!(
        message.contains("nginx:1.27") && message.contains("image map"),
        "{message}"
    );
}

fn everything_listens_on_loopback(cluster: &Cluster) {
    assert!(
        cluster.server.starts_with("https://127.0.0.1:"),
        "{}",
        cluster.server
    );
    for name in lifeboat_e2e::cluster::NODES {
        let node = jsonpath(
            cluster,
            &["get", "node", name],
            "{.status.addresses[?(@.type==\"InternalIP\")].address}",
        );
        assert_eq!(node, "127.0.0.1", "node {name}");
    }
    let ips = jsonpath(cluster, &["get", "pods", "-A"], "{.items[*].status.podIP}");
    assert!(!ips.trim().is_empty(), "no pods were seen");
    for ip in ips.split_whitespace() {
        assert!(
            ip.starts_with(&cluster.pod_ip_prefix),
            "pod IP {ip} is not on loopback"
        );
    }
}

fn server_side_dry_run_rejects_an_invalid_object(cluster: &Cluster) {
    ns(cluster, "dry-run");
    let bad = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: Bad_Name, namespace: dry-run}\nspec:\n  replicas: -1\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: other}}\n    spec: {containers: [{name: c, image: debian:12}]}\n";
    let file = std::env::temp_dir().join(format!("lifeboat-dry-run-{}.yaml", std::process::id()));
    std::fs::write(&file, bad).unwrap();
    let out = cluster
        .kubectl(&[
            "apply",
            "--dry-run=server",
            "-f",
            &file.display().to_string(),
        ])
        .unwrap();
    let _ = std::fs::remove_file(&file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an invalid Deployment was accepted");
    assert!(err.contains("Invalid value"), "{err}");
    assert!(
        err.contains("selector") && err.contains("replicas"),
        "the validation names each bad field: {err}"
    );
    // Nothing was created.
    let got = cluster
        .kubectl(&["-n", "dry-run", "get", "deployments", "-o", "name"])
        .unwrap();
    assert!(String::from_utf8_lossy(&got.stdout).trim().is_empty());
}

fn a_narrow_role_is_refused_outside_it_and_the_audit_log_shows_it(cluster: &Cluster) {
    ns(cluster, "rbac");
    cluster
        .apply_str(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: narrow, namespace: rbac}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: read-configmaps, namespace: rbac}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: narrow, namespace: rbac}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-configmaps}\nsubjects:\n- {kind: ServiceAccount, name: narrow, namespace: rbac}\n",
        )
        .unwrap();
    let token = cluster
        .kubectl_ok(&["-n", "rbac", "create", "token", "narrow"])
        .unwrap();
    let kc = cluster.token_kubeconfig("narrow", token.trim()).unwrap();
    let inside = cluster
        .kubectl_as(&kc, &["-n", "rbac", "get", "configmaps"])
        .unwrap();
    assert!(
        inside.status.success(),
        "{}",
        String::from_utf8_lossy(&inside.stderr)
    );
    let outside = cluster
        .kubectl_as(&kc, &["-n", "rbac", "get", "secrets"])
        .unwrap();
    assert!(!outside.status.success());
    assert!(
        String::from_utf8_lossy(&outside.stderr).contains("Forbidden"),
        "{}",
        String::from_utf8_lossy(&outside.stderr)
    );
    cluster
        .wait("the refusal in the audit log", || {
            cluster.audit_entries().iter().any(|e| {
                e["user"]["username"] == "system:serviceaccount:rbac:narrow"
                    && e["verb"] == "list"
                    && e["objectRef"]["resource"] == "secrets"
                    && e["objectRef"]["namespace"] == "rbac"
                    && e["responseStatus"]["code"] == 403
            })
        })
        .unwrap();
}

fn a_job_runs_to_completion_and_its_logs_come_through_the_api_server(cluster: &Cluster) {
    ns(cluster, "jobs");
    cluster
        .apply_str(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {name: hello, namespace: jobs}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: hello\n        image: debian:12\n        command: [sh, -c, 'echo \"hello from $(POD_IP) $(UNDECLARED)\"; echo done']\n        env:\n        - name: POD_IP\n          valueFrom: {fieldRef: {fieldPath: status.podIP}}\n",
        )
        .unwrap();
    cluster
        .wait_for("job hello to succeed", Duration::from_secs(90), &mut || {
            jsonpath(
                cluster,
                &["-n", "jobs", "get", "job", "hello"],
                "{.status.succeeded}",
            ) == "1"
        })
        .unwrap();
    let logs = cluster
        .kubectl_ok(&["-n", "jobs", "logs", "job/hello"])
        .unwrap();
    // The downward API's pod IP, declared in env; an undeclared reference stays as written,
    // as a real kubelet leaves it (sh then runs `UNDECLARED` as a command substitution).
    assert!(logs.contains("hello from 127.0."), "{logs}");
    assert!(logs.contains("UNDECLARED: not found"), "{logs}");
    assert!(logs.trim_end().ends_with("done"), "{logs}");
}

fn a_statefulset_postgres_keeps_its_data_when_its_pod_is_replaced(cluster: &Cluster) {
    ns(cluster, "pg");
    cluster
        .apply_str(
            "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg, namespace: pg}
spec:
  serviceName: pg
  replicas: 1
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec:
      terminationGracePeriodSeconds: 20
      containers:
      - name: postgres
        image: postgres:15
        env:
        - {name: PGDATA, value: /var/lib/postgresql/data/pgdata}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        command: [sh, -c]
        args:
        - |
          [ -s \"$PGDATA/PG_VERSION\" ] || initdb -D \"$PGDATA\" -U postgres -A trust >/dev/null
          exec postgres -D \"$PGDATA\" -c listen_addresses=\"$POD_IP\" -c unix_socket_directories=/var/lib/postgresql/data -p 5432
        readinessProbe:
          exec: {command: [sh, -c, 'pg_isready -h \"$POD_IP\" -p 5432']}
          periodSeconds: 1
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
",
        )
        .unwrap();
    let ready = |c: &Cluster| {
        jsonpath(
            c,
            &["-n", "pg", "get", "pod", "pg-0"],
            "{.status.conditions[?(@.type==\"Ready\")].status}",
        ) == "True"
    };
    cluster
        .wait_for("pg-0 to be ready", Duration::from_secs(120), &mut || {
            ready(cluster)
        })
        .unwrap();
    let psql = |sql: &str| {
        cluster.kubectl_ok(&[
            "-n",
            "pg",
            "exec",
            "pg-0",
            "-c",
            "postgres",
            "--",
            "sh",
            "-c",
            &format!("psql -h \"$POD_IP\" -U postgres -At -c \"{sql}\""),
        ])
    };
    psql("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')").unwrap();
    let uid = jsonpath(
        cluster,
        &["-n", "pg", "get", "pod", "pg-0"],
        "{.metadata.uid}",
    );
    let claim = jsonpath(
        cluster,
        &["-n", "pg", "get", "pvc", "data-pg-0"],
        "{.spec.volumeName}",
    );
    cluster
        .kubectl_ok(&["-n", "pg", "delete", "pod", "pg-0", "--wait=true"])
        .unwrap();
    cluster
        .wait_for(
            "the controller to recreate pg-0",
            Duration::from_secs(120),
            &mut || {
                let now = jsonpath(
                    cluster,
                    &["-n", "pg", "get", "pod", "pg-0"],
                    "{.metadata.uid}",
                );
                !now.is_empty() && now != uid && ready(cluster)
            },
        )
        .unwrap();
    assert_eq!(
        jsonpath(
            cluster,
            &["-n", "pg", "get", "pvc", "data-pg-0"],
            "{.spec.volumeName}"
        ),
        claim,
        "the new pod got the same claim"
    );
    assert_eq!(psql("SELECT v FROM kept").unwrap().trim(), "survives");
}

fn deleting_a_namespace_removes_everything_in_it(cluster: &Cluster) {
    ns(cluster, "doomed");
    cluster
        .apply_str(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: doomed}\ndata: {a: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sleeper, namespace: doomed}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: sleeper}}\n  template:\n    metadata: {labels: {app: sleeper}}\n    spec:\n      terminationGracePeriodSeconds: 2\n      containers: [{name: sleep, image: debian:12, command: [sleep, '600']}]\n",
        )
        .unwrap();
    cluster
        .wait_for(
            "the Deployment's pod to run",
            Duration::from_secs(90),
            &mut || {
                jsonpath(
                    cluster,
                    &["-n", "doomed", "get", "deployment", "sleeper"],
                    "{.status.availableReplicas}",
                ) == "1"
            },
        )
        .unwrap();
    let rs = cluster
        .kubectl_ok(&["-n", "doomed", "get", "replicasets", "-o", "name"])
        .unwrap();
    assert!(
        rs.contains("replicaset.apps/sleeper-"),
        "a ReplicaSet made the pod: {rs}"
    );
    cluster
        .kubectl_ok(&["delete", "namespace", "doomed", "--wait=false"])
        .unwrap();
    cluster
        .wait_for(
            "namespace doomed to be gone",
            Duration::from_secs(120),
            &mut || {
                cluster
                    .kubectl(&["get", "namespace", "doomed"])
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stderr).contains("NotFound"))
            },
        )
        .unwrap();
}
