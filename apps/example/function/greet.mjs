export const greet = (name) => `Thank you for your order, ${name}!`;
