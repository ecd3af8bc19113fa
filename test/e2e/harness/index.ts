/**
 * The e2e harness: real peers started and stopped by the tests themselves. Most of it is the local
 * stack's own code (src/stack, src/adapters/kubernetes/objects.ts, src/adapters/pki); what is here
 * finds the peers through their build scripts and drives the test-only peers (moto, the AWS CLI).
 *
 *   const kube = await startKube({ keyType: "ec" });         // etcd + kube-apiserver, admin KubeConfig
 *   after(stopAll);                                           // every peer, temp dir and process
 *   const ns = await createNamespace(kube.kubeConfig);        // + its default ServiceAccount
 *   const cert = await issueServingCert(kube.ca, "webhook");  // serve with cert.keyPem/cert.certPem
 *   await registerMutatingWebhook(kube.kubeConfig, { name, url, caBundle: kube.ca.caBundle });
 *   const { port } = await startIrsaWebhook(kube, { name: "irsa-webhook" }); // `irsa webhook`, ready
 */
export * from "../../../src/adapters/kubernetes/objects.js";
export * from "../../../src/stack/http.js";
export * from "../../../src/stack/irsa-cli.js";
export * from "../../../src/stack/processes.js";
export * from "../../../src/stack/sts.js";
export * from "../../../src/stack/webhook.js";
export * from "./aws.js";
export * from "./kube.js";
export * from "./peers.js";
export * from "./pebble.js";
export * from "./pki.js";
export * from "./upstream.js";
