/**
 * The local stack: the whole IRSA chain on loopback, each peer a supervised child process.
 *
 *   const kube = await startKube({ keyType: "rsa" });          // etcd + kube-apiserver, irsa key
 *   const webhook = await startIrsaWebhook(kube, { name: "irsa-webhook" });
 *   const sts = await startIrsaSts(configFile, logDir);        // irsa sts serve: the STS
 *   const minio = await startMinio({ openidConfigUrl, ca: kube.ca });  // a second, independent STS
 *   await stopAll();                                           // every process and temp dir
 *
 * Peer binaries come from IRSA_KUBE_APISERVER, IRSA_ETCD and IRSA_MINIO (locatePeers).
 */
export { httpCall, type HttpOptions, type HttpResponse } from "./http.js";
export { irsa, irsaOk } from "./irsa-cli.js";
export { startKube, type Kube, type KubeOptions } from "./kube.js";
export { minioRoleArn, NO_PROXY_ENV, REGION, startMinio, type Minio, type MinioOptions } from "./minio.js";
export {
  cachedPeerPath,
  DEFAULT_KUBE_VERSION,
  IRSA_CLI,
  irsaCliPath,
  locatePeer,
  locatePeers,
  PEER_ENV,
  type Peer,
  type PeerPaths,
} from "./peers.js";
export {
  freePort,
  KEEP_ENV,
  onCleanup,
  run,
  runOk,
  startProcess,
  stopAll,
  tempDir,
  untilStopSignal,
  waitUntil,
  type ManagedProcess,
  type RunResult,
  type StartOptions,
} from "./processes.js";
export { startLocalStack, type LocalStack, type LocalStackOptions } from "./local-stack.js";
export { startIrsaSts, type IrsaSts } from "./sts.js";
export { startIrsaWebhook, type IrsaWebhook, type IrsaWebhookOptions } from "./webhook.js";
