// The plugin entry point for host pages (App Manager):
//
//   const lifeboat = await import("/plugin.js");
//   await lifeboat.mount(element, { apiBase: "https://lifeboat.example", basePath: "/settings/backup",
//                                   getToken: async () => token });  // optional: bearer auth
//   ...
//   await lifeboat.unmount(element);
//
// It loads the wasm and the stylesheet once, next to this file, whatever the host page's own
// URL is. The stylesheet's every rule starts at the plugin's `.lb` root, so it styles
// nothing of the host's.
import init, { mount as wasmMount, unmount as wasmUnmount } from "./lifeboat-frontend.js";

let ready;
function stylesheet() {
  const href = new URL("./lifeboat.css", import.meta.url).href;
  if ([...document.styleSheets].some((s) => s.href === href)) return Promise.resolve();
  return new Promise((resolve) => {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.dataset.lifeboat = "";
    // A stylesheet that cannot load leaves the page plain, not missing: mount all the same.
    link.onload = link.onerror = () => resolve();
    document.head.append(link);
  });
}
function load() {
  ready ??= Promise.all([
    init({ module_or_path: new URL("./lifeboat-frontend_bg.wasm", import.meta.url) }),
    stylesheet(),
  ]);
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
