export const greet = (name) => `Welcome to ${name}`;
