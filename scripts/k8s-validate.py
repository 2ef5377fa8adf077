#!/usr/bin/env python3
"""Validate deploy/k8s offline: every resource the kustomization lists and the ConfigMaps its
generators make, against the Kubernetes schemas bundled by the kubernetes-validate package
(strict: unknown fields are errors); then the kustomization's own consistency (its files exist,
params.env names every parameter, the shard count patch equals SHARDS). A broken Job must fail
the same validation, so a validator that accepts anything is caught too. Exit 0 when all hold."""

import copy
import pathlib
import sys

import kubernetes_validate
import yaml

VERSION = "1.33.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "k8s"
PARAMETERS = ("SHARDS", "RATE", "TARGET", "START_AT")


def check(doc, where):
    try:
        kubernetes_validate.validate(doc, VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        return [f"{where}: {e.message} at {'/'.join(str(p) for p in e.path)}"]
    except Exception as e:  # an unknown kind or version
        return [f"{where}: {e}"]
    return []


def main():
    failures = []
    kustomization = yaml.safe_load((ROOT / "kustomization.yaml").read_text())
    resources = []
    for name in kustomization["resources"]:
        path = ROOT / name
        if not path.is_file():
            failures.append(f"kustomization.yaml: resource {name} does not exist")
            continue
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            resources.append((f"{name}#{i}", doc))
    for generator in kustomization.get("configMapGenerator", []):
        data = {}
        for env in generator.get("envs", []):
            for line in (ROOT / env).read_text().splitlines():
                if line.strip() and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    data[key.strip()] = value.strip()
        for file in generator.get("files", []):
            data[pathlib.Path(file).name] = (ROOT / file).read_text()
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
        resources.append((f"configMapGenerator {generator['name']}", doc))
    for where, doc in resources:
        failures += check(doc, where)
        print(f"{where}: {doc['kind']} {doc['metadata']['name']}")

    params = next(doc["data"] for where, doc in resources if where == "configMapGenerator chatprobe-params")
    for key in PARAMETERS:
        if key not in params:
            failures.append(f"params.env: {key} is missing")
    shards = int(params.get("SHARDS", "0"))
    for patch in kustomization.get("patches", []):
        for op in yaml.safe_load(patch["patch"]):
            if op["path"] in ("/spec/completions", "/spec/parallelism") and op["value"] != shards:
                failures.append(f"kustomization.yaml: {op['path']} is {op['value']}, SHARDS is {shards}")
    jobs = {doc["metadata"]["name"]: doc for _, doc in resources if doc["kind"] == "Job"}
    shard_job = jobs.get("chatprobe-shards")
    if shard_job is None or shard_job["spec"].get("completionMode") != "Indexed":
        failures.append("shards-job.yaml: the shard Job must be an Indexed Job")
    else:
        broken = copy.deepcopy(shard_job)
        broken["spec"]["completions"] = "four"
        broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = {"always": True}
        if not check(broken, "a deliberately broken Job"):
            failures.append("the validator accepted a deliberately broken Job")

    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print(f"{len(resources)} manifests checked against Kubernetes {VERSION}: "
          f"{'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
