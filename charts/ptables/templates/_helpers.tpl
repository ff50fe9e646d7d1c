{{/* The chart's name, at most 63 characters. */}}
{{- define "ptables.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: the release name, with the chart name unless it already has it. */}}
{{- define "ptables.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ptables.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the pods (never change them on upgrade). */}}
{{- define "ptables.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ptables.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The standard labels on every object. */}}
{{- define "ptables.labels" -}}
helm.sh/chart: {{ include "ptables.chart" . }}
{{ include "ptables.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ptables
{{- end -}}

{{- define "ptables.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ptables.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ptables.image" -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The address the kubelet probes: the loopback address of healthHost's family. */}}
{{- define "ptables.probeHost" -}}
{{- if has .Values.config.healthHost (list "::1" "::") -}}
::1
{{- else -}}
127.0.0.1
{{- end -}}
{{- end -}}

{{/*
One agent container. Arguments: a dict with root (the chart context), name (container and
package name), port (its HTTP port), caps (capabilities to add), privileged, resources, bpf
(whether it needs the bpf filesystem).
*/}}
{{- define "ptables.agentContainer" -}}
{{- $root := .root -}}
- name: {{ .name }}
  image: {{ include "ptables.image" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: ["node", "/opt/ptables/packages/{{ .name }}/dist/main.js"]
  env:
    - name: PTABLES_CONFIG_FILE
      value: /etc/ptables/config.yaml
  ports:
    - name: {{ .portName }}
      containerPort: {{ .port }}
      protocol: TCP
  startupProbe:
    httpGet: { host: {{ include "ptables.probeHost" $root | quote }}, path: /liveness, port: {{ .port }} }
    periodSeconds: {{ $root.Values.probes.startup.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.startup.timeoutSeconds }}
    failureThreshold: {{ $root.Values.probes.startup.failureThreshold }}
  livenessProbe:
    httpGet: { host: {{ include "ptables.probeHost" $root | quote }}, path: /liveness, port: {{ .port }} }
    periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
    failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
  readinessProbe:
    httpGet: { host: {{ include "ptables.probeHost" $root | quote }}, path: /readiness, port: {{ .port }} }
    periodSeconds: {{ $root.Values.probes.readiness.periodSeconds }}
    timeoutSeconds: {{ $root.Values.probes.readiness.timeoutSeconds }}
    failureThreshold: {{ $root.Values.probes.readiness.failureThreshold }}
  resources: {{- toYaml .resources | nindent 4 }}
  securityContext:
    {{- if .privileged }}
    privileged: true
    {{- else }}
    allowPrivilegeEscalation: false
    capabilities:
      drop: [ALL]
      {{- with .caps }}
      add: {{ toJson . }}
      {{- end }}
    {{- end }}
    readOnlyRootFilesystem: true
    runAsUser: 0
    runAsGroup: 0
  volumeMounts:
    - { name: config, mountPath: /etc/ptables, readOnly: true }
    - { name: run, mountPath: /run }
    - { name: ptables-run, mountPath: /run/ptables }
    - { name: ptables-state, mountPath: /var/lib/ptables }
    {{- if .bpf }}
    - { name: bpffs, mountPath: /sys/fs/bpf, mountPropagation: HostToContainer }
    {{- end }}
{{- end -}}
