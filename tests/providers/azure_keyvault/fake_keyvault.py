#!/usr/bin/env python3
"""A fake Azure Key Vault for the azure-keyvault provider tests.

It implements the published REST contract the provider uses, with request and
response shapes as in Azure's REST API specification (api-version 7.5):
  GET  /keys/{name}[/{version}]              -> {"key": JWK, "attributes": {...}}
  POST /keys/{name}/{version}/wrapkey        {"alg","value"} -> {"kid","value"}
  POST /keys/{name}/{version}/unwrapkey      {"alg","value"} -> {"kid","value"}
errors as {"error":{"code","message","innererror":{"code"}}}, a 401 with a
`WWW-Authenticate: Bearer authorization="...", resource="..."` challenge, real
RSA-OAEP(-256) with RSA-2048 keys, access policies per identity (get, wrapKey,
unwrapKey), disabled and deleted (soft-deleted, recoverable) keys, throttling
and outages. Also the two token issuers: the managed-identity endpoint (IMDS,
plain HTTP on its own port) and Microsoft Entra ID's client-credentials
endpoint POST /{tenant}/oauth2/v2.0/token.

The test drives it through POST /_control (JSON {"op": ...}) and reads every
request it served from the JSON-lines log (--log): server, method, path,
query, headers of interest, body and the status answered.

Usage: fake_keyvault.py --cert server.pem --key server.key --log FILE
Prints {"port": N, "imds_port": M} on stdout once both listen on 127.0.0.1.
"""
import argparse
import base64
import json
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

API_VERSION = "7.5"
IMDS_API_VERSION = "2018-02-01"
ALL_PERMISSIONS = ["get", "wrapKey", "unwrapKey"]


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Vault:
    """All state, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.base_url = ""
        self.keys = {}  # name -> {"versions": [dict], "deleted": bool}
        self.policies = {}  # client id -> set of permissions
        self.denial = "AccessDenied"  # inner code of a 403 for a missing permission
        self.identities = set()  # managed identities IMDS knows (client ids)
        self.apps = {}  # (tenant, client id) -> secret
        self.tokens = {}  # token -> {"client_id", "resource", "expires"}
        self.token_lifetime = 3600
        self.vault_resource = "https://vault.azure.net"
        self.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
        self.faults = []  # {"target", "status", "count", "retry_after"}
        self.delay = {"seconds": 0, "count": 0}

    # ---- control ----
    def control(self, req):
        op = req.get("op")
        with self.lock:
            if op == "create_key":
                entry = self.keys.setdefault(req["name"], {"versions": [], "deleted": False})
                version = secrets.token_hex(16)
                now = int(time.time())
                entry["versions"].append({
                    "version": version,
                    "private": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                    "enabled": True, "created": now, "updated": now,
                })
                return {"kid": self.kid(req["name"], version)}
            if op == "set_enabled":
                v = self.version_entry(req["name"], req.get("version"))
                v["enabled"] = bool(req["enabled"])
                v["updated"] = int(time.time())
                return {"kid": self.kid(req["name"], v["version"])}
            if op == "delete_key":
                self.keys[req["name"]]["deleted"] = True
                return {}
            if op == "recover_key":
                self.keys[req["name"]]["deleted"] = False
                return {}
            if op == "set_policy":
                self.policies[req["identity"]] = set(req.get("permissions", ALL_PERMISSIONS))
                return {}
            if op == "delete_policy":
                self.policies.pop(req["identity"], None)
                return {}
            if op == "set_denial":
                self.denial = req["inner"]
                return {}
            if op == "add_identity":
                self.identities.add(req["client_id"])
                return {}
            if op == "add_app":
                self.apps[(req["tenant"], req["client_id"])] = req["secret"]
                return {}
            if op == "token_lifetime":
                self.token_lifetime = int(req["seconds"])
                return {}
            if op == "vault_resource":
                self.vault_resource = req["resource"]
                return {}
            if op == "fault":
                self.faults.append({"target": req.get("target", "vault"), "status": int(req["status"]),
                                    "count": int(req.get("count", 1)), "retry_after": req.get("retry_after")})
                return {}
            if op == "clear_faults":
                self.faults = []
                self.delay = {"seconds": 0, "count": 0}
                return {}
            if op == "delay":
                self.delay = {"seconds": float(req["seconds"]), "count": int(req.get("count", 1))}
                return {}
            if op == "revoke_tokens":
                self.tokens.clear()
                return {}
        raise ValueError("unknown control op %r" % op)

    def kid(self, name, version):
        return "%s/keys/%s/%s" % (self.base_url, name, version)

    def version_entry(self, name, version):
        versions = self.keys[name]["versions"]
        if not version:
            return versions[-1]
        return next(v for v in versions if v["version"] == version)

    def take_fault(self, target):
        with self.lock:
            for f in self.faults:
                if f["target"] == target and f["count"] > 0:
                    f["count"] -= 1
                    return dict(f)
        return None

    def take_delay(self):
        with self.lock:
            if self.delay["count"] > 0:
                self.delay["count"] -= 1
                return self.delay["seconds"]
        return 0

    def issue_token(self, client_id, resource):
        token = "fake." + secrets.token_urlsafe(24)
        with self.lock:
            lifetime = self.token_lifetime
            self.tokens[token] = {"client_id": client_id, "resource": resource,
                                  "expires": time.time() + lifetime}
        return token, lifetime


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    vault = None  # set per server class
    server_name = "vault"

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    # ---- plumbing ----
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, headers=None):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.status = status
        # Logged before the answer leaves, so a client that got it finds it logged.
        if urllib.parse.urlsplit(self.path).path != "/_control":
            self.record(self.raw)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def kv_error(self, status, code, message, inner=None, headers=None):
        err = {"code": code, "message": message}
        if inner:
            err["innererror"] = {"code": inner}
        self.send(status, {"error": err}, headers)

    def record(self, raw_body):
        parsed = urllib.parse.urlsplit(self.path)
        body = raw_body.decode(errors="replace")
        ctype = self.headers.get("Content-Type") or ""
        try:
            if "json" in ctype:
                body = json.loads(body)
            elif "x-www-form-urlencoded" in ctype:
                body = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        except ValueError:
            pass
        entry = {
            "t": time.time(), "server": getattr(self, "label", self.server_name), "method": self.command, "path": parsed.path,
            "query": dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True)),
            "headers": {k.lower(): v for k, v in self.headers.items()
                        if k.lower() in ("authorization", "metadata", "content-type", "accept", "user-agent")},
            "body": body, "status": getattr(self, "status", 0),
        }
        with self.vault.log_lock:
            with open(self.server.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def handle_any(self):
        raw = self.read_body() if self.command == "POST" else b""
        self.raw = raw
        self.status = 0
        self.label = self.server_name
        try:
            self.dispatch(raw)
        except Exception as e:  # a bug in the fake must show, not hang the client
            if not self.status:
                self.kv_error(500, "InternalError", "fake vault: %r" % e)

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    # ---- routing ----
    def dispatch(self, raw):
        path = urllib.parse.urlsplit(self.path).path
        if self.server_name == "imds":
            return self.imds()
        if path == "/_control":
            try:
                return self.send(200, self.vault.control(json.loads(raw)))
            except (KeyError, StopIteration, ValueError) as e:
                return self.send(400, {"error": "bad control request: %r" % e})
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and self.command == "POST":
            return self.entra(parts[0], raw)
        if parts[0] == "keys":
            return self.keyvault(parts[1:], raw)
        self.kv_error(404, "NotFound", "no such route")

    # ---- Microsoft Entra ID: client credentials ----
    def entra(self, tenant, raw):
        self.label = "aad"
        fault = self.vault.take_fault("aad")
        if fault:
            return self.send(fault["status"], {"error": "temporarily_unavailable",
                                               "error_description": "AADSTS50196: fake outage"})
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        client_id = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "AADSTS900144: bad grant_type or scope"})
        with self.vault.lock:
            secret = self.vault.apps.get((tenant, client_id))
        if secret is None:
            return self.send(400, {"error": "unauthorized_client", "error_codes": [700016],
                                   "error_description": "AADSTS700016: Application with identifier '%s' was not "
                                                        "found in the directory '%s'." % (client_id, tenant)})
        if form.get("client_secret") != secret:
            return self.send(401, {"error": "invalid_client", "error_codes": [7000215],
                                   "error_description": "AADSTS7000215: Invalid client secret provided."})
        resource = form["scope"][: -len("/.default")]
        token, lifetime = self.vault.issue_token(client_id, resource)
        self.send(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                        "access_token": token})

    # ---- managed identity (IMDS) ----
    def imds(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        fault = self.vault.take_fault("imds")
        if fault:
            return self.send(fault["status"], {"error": "service_unavailable", "error_description": "fake outage"})
        if parsed.path != "/metadata/identity/oauth2/token":
            return self.send(404, {"error": "not_found", "error_description": "no such path"})
        if self.headers.get("Metadata") != "true":
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "Required metadata header not specified"})
        if query.get("api-version") != IMDS_API_VERSION or not query.get("resource"):
            return self.send(400, {"error": "invalid_request", "error_description": "bad api-version or resource"})
        client_id = query.get("client_id", "system")
        with self.vault.lock:
            known = client_id in self.vault.identities
        if not known:
            return self.send(400, {"error": "invalid_request", "error_description": "Identity not found"})
        token, lifetime = self.vault.issue_token(client_id, query["resource"])
        now = int(time.time())
        self.send(200, {"access_token": token, "refresh_token": "", "expires_in": str(lifetime),
                        "expires_on": str(now + lifetime), "not_before": str(now),
                        "resource": query["resource"], "token_type": "Bearer"})

    # ---- the vault ----
    def keyvault(self, parts, raw):
        v = self.vault
        fault = v.take_fault("vault")
        if fault:
            headers = {"Retry-After": str(fault["retry_after"])} if fault.get("retry_after") is not None else {}
            code = {429: "Throttled", 410: "Gone"}.get(fault["status"], "ServiceUnavailable")
            return self.kv_error(fault["status"], code, "Request was not allowed (fake fault).", headers=headers)
        delay = v.take_delay()
        if delay:
            time.sleep(delay)
        # Authentication: a valid, unexpired token for this vault's resource.
        auth = self.headers.get("Authorization") or ""
        with v.lock:
            info = v.tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
            resource = v.vault_resource
            challenge = 'Bearer authorization="https://login.microsoftonline.com/%s", resource="%s"' % (
                v.tenant, resource)
        if info is None or info["expires"] <= time.time() or info["resource"] != resource:
            why = ("Request is missing a Bearer or PoP token." if info is None else
                   "[TokenExpired] Error validating token: 'S2S12086'." if info["expires"] <= time.time() else
                   "AKV10022: Invalid audience.")
            return self.kv_error(401, "Unauthorized", why, headers={"WWW-Authenticate": challenge})
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        if query.get("api-version") != API_VERSION:
            return self.kv_error(400, "BadParameter", "The specified version (%s) is not recognized."
                                 % query.get("api-version"))
        client_id = info["client_id"]
        if len(parts) in (1, 2) and self.command == "GET":
            return self.get_key(parts[0], parts[1] if len(parts) == 2 else None, client_id)
        if len(parts) == 3 and self.command == "POST" and parts[2] in ("wrapkey", "unwrapkey"):
            return self.key_operation(parts[0], parts[1], parts[2], client_id, raw)
        self.kv_error(404, "NotFound", "no such route")

    def find(self, name, version, op, client_id):
        """The version entry, or None after answering with the error."""
        v = self.vault
        with v.lock:
            entry = v.keys.get(name)
            perms = v.policies.get(client_id, set())
            denial = v.denial
        if entry is None or entry["deleted"]:
            self.kv_error(404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault. If you "
                          "recently deleted this key you may be able to recover it using the correct recovery "
                          "command." % name)
            return None
        found = entry["versions"][-1] if version is None else next(
            (x for x in entry["versions"] if x["version"] == version), None)
        if found is None:
            self.kv_error(404, "KeyNotFound", "A key with (name/id) %s/%s was not found in this key vault."
                          % (name, version))
            return None
        permission = {"get": "get", "wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}[op]
        if permission not in perms:
            if denial == "AccessDenied":
                self.kv_error(403, "Forbidden", "The user, group or application 'appid=%s' does not have keys %s "
                              "permission on key vault 'fake'." % (client_id, permission), inner="AccessDenied")
            else:
                self.kv_error(403, "Forbidden", "Caller is not authorized to perform action on resource.",
                              inner=denial)
            return None
        if not found["enabled"]:
            self.kv_error(403, "Forbidden", "Operation %s is not allowed on a disabled key." % permission,
                          inner="KeyDisabled")
            return None
        return found

    def get_key(self, name, version, client_id):
        found = self.find(name, version, "get", client_id)
        if found is None:
            return
        pub = found["private"].public_key().public_numbers()
        self.send(200, {
            "key": {"kid": self.vault.kid(name, found["version"]), "kty": "RSA",
                    "key_ops": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                    "n": int_b64u(pub.n), "e": int_b64u(pub.e)},
            "attributes": {"enabled": found["enabled"], "created": found["created"], "updated": found["updated"],
                           "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90},
        })

    def key_operation(self, name, version, op, client_id, raw):
        found = self.find(name, version, op, client_id)
        if found is None:
            return
        try:
            req = json.loads(raw)
            alg, value = req["alg"], unb64u(req["value"])
        except (ValueError, KeyError, TypeError):
            return self.kv_error(400, "BadParameter", "Property 'value' or 'alg' is missing or malformed.")
        hashes_for = {"RSA-OAEP-256": hashes.SHA256, "RSA-OAEP": hashes.SHA1}
        if alg not in hashes_for:
            return self.kv_error(400, "BadParameter", "Invalid algorithm %s." % alg)
        h = hashes_for[alg]
        pad = padding.OAEP(mgf=padding.MGF1(algorithm=h()), algorithm=h(), label=None)
        try:
            if op == "wrapkey":
                out = found["private"].public_key().encrypt(value, pad)
            else:
                out = found["private"].decrypt(value, pad)
        except ValueError:
            return self.kv_error(400, "BadParameter", "Decryption failed.")
        self.send(200, {"kid": self.vault.kid(name, found["version"]), "value": b64u(out)})


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    vault = Vault()

    class VaultHandler(Handler):
        server_name = "vault"

    class ImdsHandler(Handler):
        server_name = "imds"

    VaultHandler.vault = ImdsHandler.vault = vault
    https = ThreadingHTTPServer(("127.0.0.1", 0), VaultHandler)
    https.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    https.socket = ctx.wrap_socket(https.socket, server_side=True)
    https.log_path = args.log
    imds = ThreadingHTTPServer(("127.0.0.1", 0), ImdsHandler)
    imds.daemon_threads = True
    imds.log_path = args.log
    vault.base_url = "https://127.0.0.1:%d" % https.server_address[1]
    serve(https)
    serve(imds)
    print(json.dumps({"port": https.server_address[1], "imds_port": imds.server_address[1]}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
