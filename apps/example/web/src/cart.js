export function renderCart(items) {
  const list = document.createElement('ol');
  list.innerHTML = items.map((item) => `<li>${item.name}</li>`).join('');
  return list;
}
