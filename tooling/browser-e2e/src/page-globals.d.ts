// The page's globals as the functions handed to page.evaluate see them: they run in Chromium,
// and this package is type-checked for Node (no DOM library, whose types clash with Buffer's).
// biome-ignore lint/suspicious/noExplicitAny: a page's objects are whatever the page made them
type PageValue = any;
declare const window: PageValue;
declare const document: PageValue;
declare const navigator: PageValue;
declare function getComputedStyle(element: PageValue): { color: string };
type Element = PageValue;
