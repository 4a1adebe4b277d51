require ["fileinto"];
fileinto "FromPersonal";
