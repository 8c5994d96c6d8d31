// Where the console lives: index.html sets <base href="…/console/"> from the page's own path, so
// the same build works under the local emulator's prefix, an API stage or a custom domain.

/** The router's basename: the path of …/console without the trailing slash. */
export function routerBase(baseURI: string): string {
  const path = new URL(baseURI).pathname;
  return path.replace(/\/+$/, "");
}

/** The API's base URL: the console's folder is /console under it (same origin). */
export function apiBase(baseURI: string): string {
  const url = new URL(baseURI);
  const path = url.pathname.replace(/\/console\/?$/, "");
  return `${url.origin}${path}`;
}
