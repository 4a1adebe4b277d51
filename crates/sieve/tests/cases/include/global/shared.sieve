require ["fileinto"];
fileinto "FromGlobal";
