/**
 * The e2e harness: real peers started and stopped by the tests themselves.
 *
 *   const kube = await startKube({ keyType: "ec" });         // etcd + kube-apiserver, admin KubeConfig
 *   after(stopAll);                                           // every peer, temp dir and process
 *   const ns = await createNamespace(kube.kubeConfig);        // + its default ServiceAccount
 *   const cert = await issueServingCert(kube.ca, "webhook");  // serve with cert.keyPem/cert.certPem
 *   await registerMutatingWebhook(kube.kubeConfig, { name, url, caBundle: kube.ca.caBundle });
 *   const { port } = await startIrsaWebhook(kube, { name: "irsa-webhook" }); // `irsa webhook`, ready
 */
export * from "./aws.js";
export * from "./http.js";
export * from "./irsa.js";
export * from "./k8s.js";
export * from "./kube.js";
export * from "./peers.js";
export * from "./pki.js";
export * from "./proc.js";
export * from "./webhook.js";
