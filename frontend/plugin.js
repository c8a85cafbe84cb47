// The plugin entry point for host pages (App Manager):
//
//   const lifeboat = await import("/plugin.js");
//   await lifeboat.mount(element, { apiBase: "https://lifeboat.example", basePath: "/settings/backup",
//                                   getToken: async () => token });  // optional: bearer auth
//   ...
//   await lifeboat.unmount(element);
//
// It loads the wasm once, next to this file, whatever the host page's own URL is.
import init, { mount as wasmMount, unmount as wasmUnmount } from "./lifeboat-frontend.js";

let ready;
function load() {
  ready ??= init({ module_or_path: new URL("./lifeboat-frontend_bg.wasm", import.meta.url) });
  return ready;
}

export async function mount(element, options) {
  await load();
  wasmMount(element, options ?? {});
}

export async function unmount(element) {
  await load();
  wasmUnmount(element);
}
