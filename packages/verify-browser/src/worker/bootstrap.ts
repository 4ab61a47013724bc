// The bootstrap the plugins put at the top of every page: registers the service worker and turns
// its reports into `signet:blocked` events on window (also kept in window.signet.blocked, for a
// listener added later). Classic script, no imports; window.SIGNET_SW is written before it.
interface Blocked {
  type: 'signet:blocked';
  url: string;
  path: string;
  reason: string;
  message: string;
}
const target = window as unknown as {
  SIGNET_SW: { url: string; scope: string };
  signet?: { blocked: Blocked[]; registration?: Promise<unknown> };
};
const blocked: Blocked[] = [];
const state: { blocked: Blocked[]; registration?: Promise<unknown> } = { blocked };
target.signet = state;
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as Blocked | undefined;
    if (data?.type !== 'signet:blocked') return;
    blocked.push(data);
    window.dispatchEvent(new CustomEvent('signet:blocked', { detail: data }));
  });
  navigator.serviceWorker.startMessages();
  state.registration = navigator.serviceWorker
    .register(target.SIGNET_SW.url, { scope: target.SIGNET_SW.scope, updateViaCache: 'none' })
    .then(() => navigator.serviceWorker.ready)
    .catch((error: unknown) => {
      window.dispatchEvent(new CustomEvent('signet:error', { detail: String(error) }));
    });
}
