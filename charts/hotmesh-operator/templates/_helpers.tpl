{{/* Name of the chart, or nameOverride. */}}
{{- define "hotmesh-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects, at most 63 characters. */}}
{{- define "hotmesh-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hotmesh-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "hotmesh-operator.labels" -}}
helm.sh/chart: {{ include "hotmesh-operator.chart" . }}
{{ include "hotmesh-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hotmesh
{{- end }}

{{/* Labels that select the operator pods. */}}
{{- define "hotmesh-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hotmesh-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "hotmesh-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hotmesh-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hotmesh-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Image of the app engine pods: engineImage, else the operator's image. */}}
{{- define "hotmesh-operator.engineImage" -}}
{{- $repository := .Values.engineImage.repository | default .Values.image.repository }}
{{- $tag := .Values.engineImage.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- printf "%s:%s" $repository $tag }}
{{- end }}

{{/* HOST:PORT for a listen flag; an IPv6 host gets brackets. */}}
{{- define "hotmesh-operator.listenAddress" -}}
{{- $host := .host }}
{{- if contains ":" $host }}{{ $host = printf "[%s]" $host }}{{ end }}
{{- printf "%s:%v" $host .port }}
{{- end }}

{{/* The namespace the operator watches, or "" for all; fails on more than one. */}}
{{- define "hotmesh-operator.watchNamespace" -}}
{{- if gt (len .Values.watchNamespaces) 1 }}
{{- fail (printf "watchNamespaces has %d entries, but the operator watches at most one namespace per process: install one release per namespace" (len .Values.watchNamespaces)) }}
{{- end }}
{{- if eq (len .Values.watchNamespaces) 1 }}
{{- first .Values.watchNamespaces }}
{{- end }}
{{- end }}

{{/* Secret with the default Redis URL: existingSecret.name, the chart's own, or "" when none is set. */}}
{{- define "hotmesh-operator.redisSecretName" -}}
{{- if .Values.redis.existingSecret.name }}
{{- .Values.redis.existingSecret.name }}
{{- else if .Values.redis.url }}
{{- printf "%s-redis" (include "hotmesh-operator.fullname" .) }}
{{- end }}
{{- end }}

{{- define "hotmesh-operator.redisSecretKey" -}}
{{- if .Values.redis.existingSecret.name }}{{ .Values.redis.existingSecret.key | default "url" }}{{ else }}url{{ end }}
{{- end }}

{{/*
Rules the operator needs in each watched namespace:
- hotmeshapps and hotmeshworkers: read and watch, finalizer and status writes, and /scale;
- the finalizers subresources, so Deployments it owns may set blockOwnerDeletion;
- Deployments it creates and updates with server-side apply and watches by label;
- Secrets and ConfigMaps that spec.redis.urlFrom and spec.manifestFrom name, read one by one;
- worker Pods, listed by label and annotated with a pod-deletion-cost before a scale-down;
- events.k8s.io Events about compile and activation outcomes.
*/}}
{{- define "hotmesh-operator.rules" -}}
- apiGroups: ["hotmesh.io"]
  resources: ["hotmeshapps", "hotmeshworkers"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["hotmesh.io"]
  resources: ["hotmeshapps/status", "hotmeshworkers/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["hotmesh.io"]
  resources: ["hotmeshapps/finalizers", "hotmeshworkers/finalizers"]
  verbs: ["update"]
- apiGroups: ["hotmesh.io"]
  resources: ["hotmeshworkers/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "create", "patch", "update"]
- apiGroups: [""]
  resources: ["secrets", "configmaps"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
