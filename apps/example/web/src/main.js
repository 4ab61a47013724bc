import './style.css';
import { greet } from '@acme/greet';

const products = [
  { name: 'Signet ring', price: 120 },
  { name: 'Wax seal', price: 15 },
];

document.title = greet('Acme Store');
document.querySelector('#products').innerHTML = products.map((p) => `<li>${p.name}: $${p.price}</li>`).join('');
document.querySelector('#cart').addEventListener('click', async () => {
  // Loaded on demand: a chunk of its own, signed with the rest of the build.
  const { renderCart } = await import('./cart.js');
  document.body.append(renderCart(products));
});
