// HashiCorp Vault / OpenBao Transit key provider for Signet (hashivault://).
export {};
