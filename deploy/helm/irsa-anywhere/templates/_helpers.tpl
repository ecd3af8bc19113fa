{{/* The release's base name: the release name, at most 52 characters (suffixes follow). */}}
{{- define "irsa.fullname" -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "irsa.webhook.name" -}}{{ include "irsa.fullname" . }}-webhook{{- end -}}
{{- define "irsa.webhook.tlsSecret" -}}{{ include "irsa.fullname" . }}-webhook-tls{{- end -}}
{{- define "irsa.issuer.name" -}}{{ include "irsa.fullname" . }}-issuer{{- end -}}

{{- define "irsa.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Labels on every object but the instance label (irsa.labels adds it, or the selector). */}}
{{- define "irsa.commonLabels" -}}
app.kubernetes.io/part-of: irsa-anywhere
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of an object that belongs to no one component. */}}
{{- define "irsa.labels" -}}
{{ include "irsa.commonLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of a component's object (dict "component" "webhook" "root" .): common and selector. */}}
{{- define "irsa.componentLabels" -}}
{{ include "irsa.commonLabels" .root }}
{{ include "irsa.selector" . }}
{{- end -}}

{{/* Selector labels of one component ("webhook" or "issuer"). */}}
{{- define "irsa.selector" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* The restricted Pod Security Standard: non-root, no privilege escalation, no capabilities. */}}
{{- define "irsa.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "irsa.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* topologySpreadConstraints: the values', else spread over nodes and zones, preferred. */}}
{{- define "irsa.spread" -}}
{{- if .values.topologySpreadConstraints }}
{{- toYaml .values.topologySpreadConstraints }}
{{- else }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "irsa.selector" (dict "component" .component "root" .root) | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "irsa.selector" (dict "component" .component "root" .root) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Scheduling fields shared by both Deployments. */}}
{{- define "irsa.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  {{- include "irsa.spread" . | trim | nindent 2 }}
{{- end -}}
